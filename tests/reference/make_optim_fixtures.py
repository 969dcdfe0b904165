#!/usr/bin/env python3
"""Reference optimizer steps for `crates/kinema-optim`, made by PyTorch 2.13 and MMEngine 0.10.7.

Not run by CI. Writes `tests/fixtures/optim/optimizer_steps.json` with four sections:

- `optimizers`: `torch.optim.AdamW` / `Adam` / `SGD` (CPU, single-tensor path) on small
  float32 parameters split in two groups with their own lr and weight decay; for each step
  the gradients fed (`p.grad = g`) and the parameters after `step()`.
- `clip`: `torch.nn.utils.clip_grad_norm_` for norm types 2, 1 and inf: the gradients, the
  returned total norm and the clipped gradients.
- `wrappers`: MMEngine `OptimWrapper`s built by `build_optim_wrapper` on a small module
  (top-level parameter, Linear, LayerNorm named `ln_1`, an `adapter`, a depthwise Conv2d):
  the resulting per-parameter groups (lr, weight decay), then training iterations where the
  loss is `sum_p (p * g_p).sum()` (so the gradient of `p` is exactly `g_p`) passed to
  `update_params`, recording the parameters after every iteration and the logged
  `grad_norm`. Cases: paramwise options with clipping; accumulation of 2 with
  `initialize_count_status(0, 5)` (the last window has one iteration).
- `amp`: what MMEngine's `AmpOptimWrapper.update_params` does, replayed with
  `torch.amp.GradScaler('cpu')` (MMEngine's wrapper itself refuses to run without CUDA):
  scale, backward, unscale, clip, step unless inf/NaN, update the scale. One step has an
  overflowing gradient and must be skipped; the scale grows after `growth_interval` steps.

Environment: the reference venv (torch 2.13 CPU, mmengine 0.10.7). Run from the repository
root:
    /root/.cache/kinema/reference-venv/bin/python tests/reference/make_optim_fixtures.py
"""

import json
import os

import torch
from torch import nn

from mmengine.logging import MessageHub
from mmengine.optim import build_optim_wrapper

OUT = os.path.join("tests", "fixtures", "optim", "optimizer_steps.json")
SHAPES = {"p0": [4, 3], "p1": [3], "p2": [2, 2]}
STEPS = 5


def num(x):
    """A float, or "inf" / "-inf" / "nan" (JSON has no non-finite numbers)."""
    x = float(x)
    return x if x == x and abs(x) != float("inf") else str(x)


def flat(t):
    return [float(v) for v in t.detach().reshape(-1).tolist()]


def make_params():
    return {n: torch.randn(s) for n, s in SHAPES.items()}


def make_grads(steps):
    return [{n: torch.randn(s) * 0.5 for n, s in SHAPES.items()} for _ in range(steps)]


def optimizer_case(name, cls, defaults, groups):
    init = make_params()
    grads = make_grads(STEPS)
    params = {n: nn.Parameter(t.clone()) for n, t in init.items()}
    torch_groups = [dict(params=[params[n] for n in g["params"]], **{k: v for k, v in g.items() if k != "params"})
                    for g in groups]
    opt = cls(torch_groups, **defaults)
    steps = []
    for g in grads:
        for n, p in params.items():
            p.grad = g[n].clone()
        opt.step()
        steps.append({"grads": {n: flat(v) for n, v in g.items()},
                      "params": {n: flat(p) for n, p in params.items()}})
    return {"name": name, "type": cls.__name__, "defaults": defaults, "groups": groups, "shapes": SHAPES,
            "init": {n: flat(t) for n, t in init.items()}, "steps": steps}


def clip_cases():
    out = []
    for norm_type in [2.0, 1.0, float("inf")]:
        grads = [torch.randn(s) for s in SHAPES.values()]
        params = [nn.Parameter(torch.zeros_like(g)) for g in grads]
        for p, g in zip(params, grads):
            p.grad = g.clone()
        total = torch.nn.utils.clip_grad_norm_(params, max_norm=0.7, norm_type=norm_type)
        out.append({"norm_type": "inf" if norm_type == float("inf") else norm_type, "max_norm": 0.7,
                    "grads": [flat(g) for g in grads], "shapes": list(SHAPES.values()),
                    "total_norm": float(total), "clipped": [flat(p.grad) for p in params]})
    return out


class Tiny(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Parameter(torch.randn(3))
        self.backbone = nn.Linear(4, 3)
        self.ln_1 = nn.LayerNorm(3)
        self.adapter = nn.Linear(3, 2)
        self.dw = nn.Conv2d(2, 2, 3, groups=2)


def tiny_grads(model, iters, overflow_at=None):
    out = []
    for i in range(iters):
        g = {n: torch.randn(p.shape) * 0.3 for n, p in model.named_parameters()}
        if i == overflow_at:
            g["backbone.weight"][0, 0] = 3e38  # times the loss scale: inf
        out.append(g)
    return out


def loss_of(model, g):
    return sum((p * g[n]).sum() for n, p in model.named_parameters())


def wrapper_case(name, cfg, iters, init_counts=None):
    torch.manual_seed(1)
    model = Tiny()
    init = {n: flat(p) for n, p in model.named_parameters()}
    shapes = {n: list(p.shape) for n, p in model.named_parameters()}
    grads = tiny_grads(model, iters)
    wrapper = build_optim_wrapper(model, json.loads(json.dumps(cfg)))
    if init_counts is not None:
        wrapper.initialize_count_status(model, *init_counts)
    hub = MessageHub.get_current_instance()
    groups = [{"params": [next(n for n, q in model.named_parameters() if q is p) for p in g["params"]],
               "lr": g["lr"], "weight_decay": g["weight_decay"]} for g in wrapper.optimizer.param_groups]
    steps = []
    for g in grads:
        hub.update_scalar("train/grad_norm", float("nan"))
        wrapper.update_params(loss_of(model, g))
        norm = hub.get_scalar("train/grad_norm").current()
        steps.append({"grads": {n: flat(v) for n, v in g.items()},
                      "params": {n: flat(p) for n, p in model.named_parameters()},
                      "grad_norm": None if norm != norm else norm})
    return {"name": name, "optim_wrapper": cfg, "init_counts": init_counts, "shapes": shapes, "init": init,
            "groups": groups, "steps": steps}


def amp_case():
    torch.manual_seed(2)
    model = Tiny()
    init = {n: flat(p) for n, p in model.named_parameters()}
    shapes = {n: list(p.shape) for n, p in model.named_parameters()}
    grads = tiny_grads(model, 7, overflow_at=2)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2, betas=(0.9, 0.98), weight_decay=0.05)
    scaler = torch.amp.GradScaler("cpu", init_scale=256.0, growth_interval=2)
    steps = []
    for g in grads:
        scale_used = scaler.get_scale()
        scaler.scale(loss_of(model, g)).backward()
        scaler.unscale_(opt)  # MMEngine unscales before clipping
        norm = torch.nn.utils.clip_grad_norm_(list(model.parameters()), max_norm=100.0)
        found = sum(v.item() for v in scaler._per_optimizer_states[id(opt)]["found_inf_per_device"].values())
        scaler.step(opt)
        scaler.update()
        opt.zero_grad()
        steps.append({"grads": {n: flat(v) for n, v in g.items()},
                      "params": {n: flat(p) for n, p in model.named_parameters()},
                      "scale_used": scale_used, "scale_after": scaler.get_scale(), "skipped": found > 0,
                      "grad_norm": num(norm), "growth_tracker": scaler._get_growth_tracker()})
    cfg = dict(type="AmpOptimWrapper",
               optimizer=dict(type="AdamW", lr=1e-2, betas=[0.9, 0.98], weight_decay=0.05),
               clip_grad=dict(max_norm=100.0),
               loss_scale=dict(init_scale=256.0, growth_interval=2))
    return {"name": "amp_fp16_dynamic", "optim_wrapper": cfg, "shapes": shapes, "init": init, "steps": steps}


def main():
    torch.manual_seed(0)
    two_groups = [
        {"params": ["p0", "p1"], "lr": 1e-2, "weight_decay": 0.1},
        {"params": ["p2"], "lr": 5e-2, "weight_decay": 0.0},
    ]
    optimizers = [
        optimizer_case("adamw", torch.optim.AdamW, dict(lr=1e-3, betas=(0.9, 0.98), eps=1e-8, weight_decay=0.2),
                       two_groups),
        optimizer_case("adamw_amsgrad", torch.optim.AdamW, dict(lr=1e-3, amsgrad=True), two_groups),
        optimizer_case("adam_l2", torch.optim.Adam, dict(lr=2e-3, weight_decay=0.01), two_groups),
        optimizer_case("sgd_momentum", torch.optim.SGD,
                       dict(lr=0.1, momentum=0.9, dampening=0.1, weight_decay=1e-3), two_groups),
        optimizer_case("sgd_nesterov", torch.optim.SGD, dict(lr=0.05, momentum=0.8, nesterov=True,
                                                             weight_decay=1e-2), two_groups),
        optimizer_case("sgd_plain", torch.optim.SGD, dict(lr=0.1), two_groups),
    ]
    paramwise = dict(
        type="OptimWrapper",
        optimizer=dict(type="AdamW", lr=1e-2, betas=[0.9, 0.98], eps=1e-8, weight_decay=0.2),
        paramwise_cfg=dict(
            custom_keys={"adapter": dict(lr_mult=10, decay_mult=0.5), "backbone.bias": dict(lr_mult=2),
                         ".embed": dict(decay_mult=0.0)},
            bias_lr_mult=3.0, norm_decay_mult=0.0, dwconv_decay_mult=0.3, flat_decay_mult=0.7),
        clip_grad=dict(max_norm=1.0, norm_type=2))
    accumulate = dict(
        type="OptimWrapper",
        optimizer=dict(type="SGD", lr=0.1, momentum=0.9, weight_decay=1e-3),
        accumulative_counts=2)
    wrappers = [
        wrapper_case("paramwise_clip", paramwise, 4),
        wrapper_case("accumulate_2_of_5", accumulate, 5, init_counts=(0, 5)),
    ]
    data = {"torch": torch.__version__, "mmengine": __import__("mmengine").__version__,
            "optimizers": optimizers, "clip": clip_cases(), "wrappers": wrappers, "amp": [amp_case()]}
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump(data, f, allow_nan=False)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
