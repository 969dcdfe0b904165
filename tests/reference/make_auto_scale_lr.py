#!/usr/bin/env python3
"""Reference for `auto_scale_lr`, made by the real MMEngine 0.10.7 `Runner.scale_lr`.

Not run by CI. Writes `tests/fixtures/engine/auto_scale_lr.json`: for a 4-class linear
probe named like Kinema's test model (`cls_head.weight`, `cls_head.bias`), an SGD wrapper
with a per-parameter `paramwise_cfg` (so there is a base-settings group), a warm-up
LinearLR and a MultiStepLR, and `auto_scale_lr = {enable, base_batch_size}`, the `lr` of
every parameter group (base settings last) that each training iteration sees, for each
(batch size, base batch size) case. `Runner.scale_lr` itself is called (unbound, on a
stand-in with the attributes it reads: the train dataloader config and the world size),
between building the optimizer wrapper and the schedulers, as `Runner.train` does; the
schedulers are stepped as MMEngine's ParamSchedulerHook steps them.

Run from the repository root with the reference venv (torch 2.13, mmengine 0.10.7):
    ~/.cache/kinema/reference-venv/bin/python tests/reference/make_auto_scale_lr.py
"""

import copy
import json
import logging
import os
import types

import torch
from torch import nn

import mmengine
from mmengine.optim import build_optim_wrapper
from mmengine.registry import PARAM_SCHEDULERS
from mmengine.runner import Runner

OUT = os.path.join("tests", "fixtures", "engine", "auto_scale_lr.json")

OPTIM_WRAPPER = dict(
    type="OptimWrapper",
    optimizer=dict(type="SGD", lr=0.5, momentum=0.9),
    paramwise_cfg=dict(custom_keys={"bias": dict(lr_mult=2.0)}),
)
PARAM_SCHEDULER = [
    dict(type="LinearLR", start_factor=0.5, by_epoch=True, begin=0, end=2, convert_to_iter_based=True),
    dict(type="MultiStepLR", milestones=[3], gamma=0.1, by_epoch=True),
]


class Probe(nn.Module):
    def __init__(self):
        super().__init__()
        self.cls_head = nn.Linear(3, 4)


def run_case(batch_size, base_batch_size, num_samples, max_epochs):
    wrapper = build_optim_wrapper(Probe(), copy.deepcopy(OPTIM_WRAPPER))
    stand_in = types.SimpleNamespace(
        _train_dataloader=dict(batch_size=batch_size),
        world_size=1,
        param_schedulers=None,
        logger=logging.getLogger("reference"),
    )
    auto = dict(enable=True, base_batch_size=base_batch_size)
    Runner.scale_lr(stand_in, wrapper, auto)
    epoch_length = -(-num_samples // batch_size)
    schedulers = []
    for cfg in copy.deepcopy(PARAM_SCHEDULER):
        cfg.setdefault("end", max_epochs)
        schedulers.append(
            PARAM_SCHEDULERS.build(cfg, default_args=dict(optimizer=wrapper, epoch_length=epoch_length)))
    lrs = []
    for _ in range(max_epochs):
        for _ in range(epoch_length):
            lrs.append([g["lr"] for g in wrapper.param_groups])
            for s in schedulers:
                if not s.by_epoch:
                    s.step()
        for s in schedulers:
            if s.by_epoch:
                s.step()
    return dict(batch_size=batch_size, base_batch_size=base_batch_size, num_samples=num_samples,
                max_epochs=max_epochs, epoch_length=epoch_length, lr=lrs)


def main():
    cases = [run_case(4, 16, 16, 4), run_case(8, 2, 16, 4)]
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump(dict(mmengine=mmengine.__version__, torch=torch.__version__, optim_wrapper=OPTIM_WRAPPER,
                       param_scheduler=PARAM_SCHEDULER, cases=cases), f, indent=1, allow_nan=False)
    print(f"wrote {OUT}: {len(cases)} cases")


if __name__ == "__main__":
    main()
