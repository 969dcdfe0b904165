#!/usr/bin/env python3
"""What PyTorch and MMEngine read from a `.pth` that Kinema wrote.

Not run by CI. Reads `tests/fixtures/checkpoint/kinema_written.pth` (made by
`cargo test -p kinema-engine --test pth_checkpoints -- --ignored`) twice:
  1. `torch.load(path, weights_only=True)`: the restricted unpickler, no code runs;
  2. MMEngine 0.10.7's `load_checkpoint(model, path, strict=True)` into a module whose
     parameters and buffers have the file's names, dtypes and shapes (its `torch.load`
     call passes no `weights_only`, so torch 2.6+ uses `weights_only=True` here too),
and writes `tests/fixtures/checkpoint/kinema_written_reference.json`: for every state-dict
tensor its dtype, shape and the sha256 of its bytes, plus the `meta` dict and the
optimizer's state indices. The Rust test compares these with the tensors it wrote.

Run from the repository root with the reference venv (torch 2.13, mmengine 0.10.7):
    ~/.cache/kinema/reference-venv/bin/python tests/reference/check_kinema_pth.py
"""

import hashlib
import json
import os

import torch
from torch import nn

import mmengine
from mmengine.runner import load_checkpoint

PTH = os.path.join("tests", "fixtures", "checkpoint", "kinema_written.pth")
OUT = os.path.join("tests", "fixtures", "checkpoint", "kinema_written_reference.json")


def digest(t):
    t = t.detach().contiguous()
    return dict(dtype=str(t.dtype), shape=list(t.shape),
                sha256=hashlib.sha256(t.reshape(-1).view(torch.uint8).numpy().tobytes()).hexdigest())


def module_like(state_dict):
    """A module with a zero buffer of the same name, dtype and shape per entry."""
    root = nn.Module()
    for name, t in state_dict.items():
        *path, leaf = name.split(".")
        mod = root
        for part in path:
            if not hasattr(mod, part):
                mod.add_module(part, nn.Module())
            mod = getattr(mod, part)
        mod.register_buffer(leaf, torch.zeros_like(t))
    return root


def main():
    ckpt = torch.load(PTH, map_location="cpu", weights_only=True)
    state = ckpt["state_dict"]
    model = module_like(state)
    load_checkpoint(model, PTH, map_location="cpu", strict=True)
    loaded = model.state_dict()
    out = dict(
        torch=torch.__version__,
        mmengine=mmengine.__version__,
        top_level_keys=list(ckpt.keys()),
        torch_load_weights_only=dict(
            state_dict={k: digest(v) for k, v in state.items()},
            state_dict_type=type(state).__name__,
            meta={k: v for k, v in ckpt["meta"].items()},
            optimizer_state_keys=[str(k) for k in ckpt["optimizer"]["state"].keys()],
            optimizer_param_groups=ckpt["optimizer"]["param_groups"],
        ),
        mmengine_load_checkpoint=dict(state_dict={k: digest(v) for k, v in loaded.items()}),
    )
    with open(OUT, "w") as f:
        json.dump(out, f, indent=1, sort_keys=False)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
