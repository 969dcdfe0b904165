#!/usr/bin/env python3
"""Reference learning-rate / momentum tables for `crates/kinema-optim`, made by the real
MMEngine (0.10.7) parameter schedulers.

Not run by CI. Writes `tests/fixtures/optim/lr_tables.json`: one entry per case with the
`optim_wrapper` and `param_scheduler` configs (as JSON, the way a Kinema TOML config would
give them), the run's epoch length / max epochs / max iterations, and for every training
iteration the value of `lr` and `momentum` of every parameter group (the base settings
last) as the iteration sees them, i.e. after the schedulers' construction and after the
steps that MMEngine's ParamSchedulerHook made for the earlier iterations and epochs.
The final scheduler states (`state_dict()`) are recorded too.

Schedulers are built the way MMEngine's Runner does (`_build_param_scheduler`: the
default `end` is max_epochs / max_iters when the train loop is known, then
`PARAM_SCHEDULERS.build` with `epoch_length`, which converts with
`convert_to_iter_based`); the optimizer wrapper by `build_optim_wrapper` on a small module
whose parameter names mimic ActionCLIP's (`clip.*`, `adapter.*`).

Environment: the reference venv (torch 2.13 CPU, mmengine 0.10.7). Run from the repository
root:
    /root/.cache/kinema/reference-venv/bin/python tests/reference/make_lr_table.py
"""

import copy
import json
import os

import torch
from torch import nn

from mmengine.optim import build_optim_wrapper
from mmengine.registry import PARAM_SCHEDULERS

OUT = os.path.join("tests", "fixtures", "optim", "lr_tables.json")


class TwoParts(nn.Module):
    """Parameters `clip.weight` and `adapter.weight`, like ActionCLIP's two halves."""

    def __init__(self):
        super().__init__()
        self.clip = nn.Linear(2, 2, bias=False)
        self.adapter = nn.Linear(2, 2, bias=False)


class OnePart(nn.Module):
    def __init__(self):
        super().__init__()
        self.backbone = nn.Linear(2, 2, bias=False)


def momentum_of(group):
    if "momentum" in group:
        return group["momentum"]
    return group["betas"][0]


def jsonable(value):
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, torch.Tensor):
        return value.tolist()
    return value


def scheduler_state(s):
    state = s.state_dict()
    if "milestones" in state:  # a Counter: list each milestone once per count
        state["milestones"] = sorted(state["milestones"].elements())
    return jsonable(state)


def run_case(name, model, optim_wrapper, param_scheduler, epoch_length, max_epochs, loop_known=True,
             iters=None):
    wrapper = build_optim_wrapper(model, copy.deepcopy(optim_wrapper))
    max_iters = max_epochs * epoch_length
    schedulers = []
    for cfg in copy.deepcopy(param_scheduler):
        if loop_known:
            cfg.setdefault("end", max_epochs if cfg.get("by_epoch", True) else max_iters)
        schedulers.append(
            PARAM_SCHEDULERS.build(cfg, default_args=dict(optimizer=wrapper, epoch_length=epoch_length)))
    lrs, moms = [], []
    total = iters if iters is not None else max_iters
    done = 0
    for _ in range(max_epochs):
        for _ in range(epoch_length):
            if done == total:
                break
            lrs.append([g["lr"] for g in wrapper.param_groups])
            moms.append([momentum_of(g) for g in wrapper.param_groups])
            wrapper.optimizer.step()  # what the train step does before the hook (no grads: no-op)
            for s in schedulers:
                if not s.by_epoch:
                    s.step()
            done += 1
        for s in schedulers:
            if s.by_epoch:
                s.step()
    return {
        "name": name,
        "params": [n for n, _ in model.named_parameters()],
        "optim_wrapper": optim_wrapper,
        "param_scheduler": param_scheduler,
        "epoch_length": epoch_length,
        "max_epochs": max_epochs if loop_known else None,
        "max_iters": max_iters if loop_known else None,
        "iters": total,
        "epochs_run": max_epochs,
        "lr": lrs,
        "momentum": moms,
        "final_states": [scheduler_state(s) for s in schedulers],
    }


ACTIONCLIP_WRAPPER = dict(
    type="OptimWrapper",
    optimizer=dict(type="AdamW", lr=5e-6, betas=[0.9, 0.98], eps=1e-8, weight_decay=0.2),
    paramwise_cfg=dict(custom_keys={"adapter": dict(lr_mult=10)}),
)
SGD_WRAPPER = dict(type="OptimWrapper", optimizer=dict(type="SGD", lr=0.1, momentum=0.9, weight_decay=1e-4))


def main():
    torch.manual_seed(0)
    cases = []
    # 1. The ActionCLIP b32_8f recipe (configs/recognition/actionclip/*_k400-rgb.py), E = 7.
    cases.append(run_case(
        "adamw_warmup_cosine_50e", TwoParts(), ACTIONCLIP_WRAPPER,
        [
            dict(type="LinearLR", start_factor=0.01, by_epoch=True, begin=0, end=5, convert_to_iter_based=True),
            dict(type="CosineAnnealingLR", T_max=45, eta_min=0, by_epoch=True, begin=5, end=50,
                 convert_to_iter_based=True),
        ],
        epoch_length=7, max_epochs=50))
    # 2. Iteration warm-up then epoch milestones (the classic MMDet schedule), repeated milestone.
    cases.append(run_case(
        "warmup_multistep_by_epoch", OnePart(), SGD_WRAPPER,
        [
            dict(type="LinearLR", start_factor=0.1, by_epoch=False, begin=0, end=10),
            dict(type="MultiStepLR", milestones=[3, 6, 6], gamma=0.1, by_epoch=True),
        ],
        epoch_length=5, max_epochs=8))
    # 3. Windows that overlap and leave gaps: ConstantLR, ExponentialLR, epoch StepLR.
    cases.append(run_case(
        "constant_exponential_step_windows", OnePart(), SGD_WRAPPER,
        [
            dict(type="ConstantLR", factor=0.5, by_epoch=False, begin=2, end=6),
            dict(type="ExponentialLR", gamma=0.9, by_epoch=False, begin=5, end=20),
            dict(type="StepLR", step_size=3, gamma=0.5, by_epoch=True, begin=1, end=5),
        ],
        epoch_length=6, max_epochs=5))
    # 4. Cosine with a short period (restarts upward through the special branch), eta_min_ratio,
    #    then PolyLR; two groups.
    cases.append(run_case(
        "cosine_restart_branch_poly", TwoParts(),
        dict(type="OptimWrapper", optimizer=dict(type="SGD", lr=0.05, momentum=0.9),
             paramwise_cfg=dict(custom_keys={"adapter": dict(lr_mult=2)})),
        [
            dict(type="CosineAnnealingLR", T_max=7, eta_min_ratio=0.1, by_epoch=False, begin=3, end=40),
            dict(type="PolyLR", eta_min=1e-4, power=2.0, by_epoch=False, begin=40, end=60),
        ],
        epoch_length=10, max_epochs=6))
    # 5. Momentum schedulers: AdamW's betas[0] and the LR together.
    cases.append(run_case(
        "momentum_adamw", TwoParts(), ACTIONCLIP_WRAPPER,
        [
            dict(type="LinearLR", start_factor=0.1, by_epoch=False, begin=0, end=8),
            dict(type="CosineAnnealingMomentum", eta_min=0.85, by_epoch=False, begin=0, end=20),
            dict(type="StepMomentum", step_size=1, gamma=1.01, by_epoch=True, begin=2, end=4),
        ],
        epoch_length=5, max_epochs=5))
    # 6. Fractional epochs with convert_to_iter_based, default `end`, T_max from the window.
    cases.append(run_case(
        "fractional_convert_default_end", OnePart(), SGD_WRAPPER,
        [
            dict(type="LinearLR", start_factor=0.25, by_epoch=True, begin=0, end=0.5, convert_to_iter_based=True),
            dict(type="CosineAnnealingLR", eta_min=1e-3, by_epoch=True, begin=0.5, convert_to_iter_based=True),
            dict(type="MultiStepMomentum", milestones=[2, 3], gamma=0.5, by_epoch=True,
                 convert_to_iter_based=True),
        ],
        epoch_length=9, max_epochs=4))
    # 7. No train loop known: `end` defaults to INF (1e9).
    cases.append(run_case(
        "no_loop_inf_end", OnePart(), SGD_WRAPPER,
        [dict(type="LinearLR", start_factor=0.5, by_epoch=False)],
        epoch_length=4, max_epochs=3, loop_known=False))
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump({"mmengine": __import__("mmengine").__version__, "torch": torch.__version__,
                   "cases": cases}, f, indent=1, allow_nan=False)
    print(f"wrote {OUT}: {len(cases)} cases, {sum(len(c['lr']) for c in cases)} iterations")


if __name__ == "__main__":
    main()
