#!/usr/bin/env python3
"""Writes the small real checkpoints that kinema-torch's checkpoint tests read.

Run with the reference venv (torch 2.13, numpy, mmengine 0.10.7):

    /root/.cache/kinema/reference-venv/bin/python tests/reference/make_checkpoint_fixtures.py [UPSTREAM_DIR]

Outputs go to tests/fixtures/checkpoint/: a handful of `torch.save` files (pickle protocol 2
and 4), a legacy non-zip file, an MMEngine checkpoint written by mmengine's own
`save_checkpoint` (with a MessageHub holding HistoryBuffer objects and an SGD optimizer state),
a tiny TorchScript module, and `expected.json` describing every object in a canonical JSON
form that the Rust tests rebuild from what they read:

    None/bool/int/float/str -> themselves; int beyond 64 bits -> {"bigint_le_hex": ...}
    bytes -> {"bytes": hex}; tuple/set/frozenset -> {"tuple"|"set"|"frozenset": [...]}
    dict -> {"dict": [[k, v], ...], "ordered": bool, "attrs": canonical vars() or null}
    tensor -> {"tensor": {dtype, shape, stride, offset, storage, values}} where `storage`
              numbers the distinct storages of the file in first-seen order and `values`
              is the flattened content as floats
    numpy scalar -> {"np_scalar": {dtype, value}}; array -> {"ndarray": {dtype, shape, values}}
    class/function reference -> {"global": "module.name"}
    any other object -> {"object": "module.name", "args": [...], "state": ...}
"""

import collections
import copyreg
import json
import os
import pickle
import sys

import numpy as np
import torch
from torch import nn

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "checkpoint")
# The shared upstream reference data (its tiny/mmaction_clip_tiny.pth is copied by hand to
# tests/fixtures/tiny/); override with the first command-line argument.
UPSTREAM = sys.argv[1] if len(sys.argv) > 1 else "/work/shared/fixtures/upstream"


class Canon:
    """Canonical JSON of a Python object, as the Rust reader should see it."""

    def __init__(self):
        self.storages = {}

    def storage_id(self, t):
        key = t.untyped_storage().data_ptr()
        return self.storages.setdefault(key, len(self.storages))

    def __call__(self, v):
        if isinstance(v, np.generic):  # before float: np.float64 subclasses float
            return {"np_scalar": {"dtype": v.dtype.str, "value": float(v)}}
        if v is None or isinstance(v, (bool, str)):
            return v
        if isinstance(v, int):
            if -(2**63) <= v < 2**63:
                return v
            return {"bigint_le_hex": pickle.encode_long(v).hex()}
        if isinstance(v, float):
            return v
        if isinstance(v, (bytes, bytearray)):
            return {"bytes": bytes(v).hex()}
        if isinstance(v, torch.Tensor):
            return {
                "tensor": {
                    "dtype": str(v.dtype).replace("torch.", ""),
                    "shape": list(v.shape),
                    "stride": list(v.stride()),
                    "offset": v.storage_offset(),
                    "storage": self.storage_id(v),
                    "values": v.detach().double().flatten().tolist(),
                }
            }
        if isinstance(v, np.ndarray):
            return {"ndarray": {"dtype": v.dtype.str, "shape": list(v.shape),
                                "values": [float(x) for x in v.flatten(order="C")]}}
        if isinstance(v, torch.dtype):
            return {"global": "torch." + str(v).replace("torch.", "")}
        if isinstance(v, dict):
            attrs = vars(v) if hasattr(v, "__dict__") and vars(v) else None
            return {
                "dict": [[self(k), self(x)] for k, x in v.items()],
                "ordered": isinstance(v, collections.OrderedDict),
                "attrs": self(attrs) if attrs else None,
            }
        if isinstance(v, list):
            return [self(x) for x in v]
        if isinstance(v, tuple):
            return {"tuple": [self(x) for x in v]}
        if isinstance(v, frozenset):
            return {"frozenset": [self(x) for x in v]}
        if isinstance(v, set):
            return {"set": [self(x) for x in v]}
        if isinstance(v, type) or callable(v) and hasattr(v, "__qualname__"):
            if "." in v.__qualname__:  # pickle protocol 2 saves getattr(parent, name)
                parent, name = v.__qualname__.rsplit(".", 1)
                return {"object": "builtins.getattr",
                        "args": [{"global": f"{v.__module__}.{parent}"}, name], "state": None}
            return {"global": f"{v.__module__}.{v.__qualname__}"}
        func, args, *rest = v.__reduce_ex__(2)
        state = rest[0] if rest else None
        if func is copyreg.__newobj__:
            cls, args = args[0], args[1:]
            name = f"{cls.__module__}.{cls.__qualname__}"
        else:
            name = f"{func.__module__}.{func.__qualname__}"
        return {"object": name, "args": [self(a) for a in args], "state": self(state)}


def canon(v):
    return Canon()(v)


def nested_payload():
    same = torch.tensor([7.0, 8.0, 9.0])
    return {
        "ints": [0, 1, -1, 255, 256, 65535, 65536, -(2**31), 2**31, 2**62, -(2**63), 2**64 + 5, -(2**70)],
        "floats": [0.0, -1.5, 3.141592653589793, 1e-300, 1e300],
        "str": "h\u00e9llo w\u00f6rld \u2713",
        "empty_str": "",
        "bytes": b"\x00\x01\xfe\xff",
        "empty_bytes": b"",
        "none": None,
        "flags": (True, False),
        "tuple": (1, "a", (2.0, None)),
        "empty_tuple": (),
        "set": {1, 2, 3},
        "frozenset": frozenset({"x"}),
        "nested": {"a": {"b": {"c": [1, [2, [3]]]}}},
        "int_keys": {0: "zero", 1: "one", -5: "neg"},
        "tuple_key": {(1, 2): "pair"},
        "slice": slice(1, 10, 2),
        "complex": complex(1.0, -2.0),
        "dtype": torch.float16,
        "device": torch.device("cpu"),
        "defaultdict": collections.defaultdict(list, {"k": [1]}),
        "bytearray": bytearray(b"ab"),
        "same_object": [same, same],
        "tensors": {
            "f32": torch.arange(6, dtype=torch.float32).reshape(2, 3) / 4,
            "f64": torch.tensor([1e-10, -2.5, 1e10], dtype=torch.float64),
            "f16": torch.tensor([[0.5, -1.0], [65504.0, 0.000061035156]], dtype=torch.float16),
            "bf16": (torch.arange(4, dtype=torch.float32) * -1.5).to(torch.bfloat16),
            "i64": torch.tensor([-(2**40), 0, 2**40]),
            "i32": torch.tensor([-7, 7], dtype=torch.int32),
            "i16": torch.tensor([-300, 300], dtype=torch.int16),
            "i8": torch.tensor([-128, 127], dtype=torch.int8),
            "u8": torch.tensor([0, 200, 255], dtype=torch.uint8),
            "bool": torch.tensor([True, False, True]),
            "scalar": torch.tensor(3.5),
            "empty": torch.zeros(0, 4),
            "param": nn.Parameter(torch.ones(2)),
        },
    }


def views_payload():
    base = torch.arange(24, dtype=torch.float32).reshape(4, 6)
    half = torch.arange(10, dtype=torch.float16)
    return {
        "base": base,
        "row": base[1],
        "col": base[:, 2],
        "t": base.t(),
        "strided": base[::2, 1::2],
        "tail": base.view(-1)[5:17],
        "half_view": half[3:7],
        "half": half,
        "expanded": torch.tensor([1.0, 2.0]).expand(3, 2),
    }


def numpy_payload():
    return {
        "meta": {
            "np_f64": np.float64(0.1),
            "np_f32": np.float32(1.5),
            "np_f16": np.float16(-2.25),
            "np_i64": np.int64(-7),
            "np_i32": np.int32(123),
            "np_u8": np.uint8(200),
            "np_bool": np.bool_(True),
            "arr_f32": np.arange(6, dtype=np.float32).reshape(2, 3),
            "arr_i64": np.array([1, -2, 3], dtype=np.int64),
            "arr_fortran": np.asfortranarray(np.arange(6.0).reshape(2, 3)),
            "arr_bool": np.array([True, False]),
            "arr_empty": np.zeros((0,), np.float32),
            "arr_big_endian": np.arange(3, dtype=">i4"),
        },
        "state_dict": {"w": torch.ones(2)},
    }


def small_model():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))
    with torch.no_grad():
        model[0].weight.copy_(torch.arange(6, dtype=torch.float32).reshape(2, 3) / 8)
        model[0].bias.copy_(torch.tensor([0.25, -0.25]))
        model[1].running_mean.fill_(0.5)
        model[1].num_batches_tracked.fill_(3)
    return model


def mmengine_checkpoint(path):
    from mmengine.logging import MessageHub
    from mmengine.optim import MultiStepLR
    from mmengine.runner.checkpoint import save_checkpoint, weights_to_cpu

    model = small_model()
    optim = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model(torch.ones(4, 3)).sum().backward()
    optim.step()
    sched = MultiStepLR(optim, milestones=[1, 2], gamma=0.5)
    hub = MessageHub.get_instance("kinema-fixture")
    for i, loss in enumerate([0.5, 0.25, 0.125]):
        hub.update_scalar("train/loss", loss)
        hub.update_scalar("train/lr", 0.1, count=2)
        hub.update_info("iter", i + 1)
    hub.update_info("epoch", 1)
    ckpt = {
        "meta": {
            "epoch": 1,
            "iter": 3,
            "seed": 42,
            "experiment_name": "kinema_fixture",
            "time": "20240101_000000",
            "mmengine_version": "0.10.7",
            "dataset_meta": {"classes": ["a", "b"]},
            "hook_msgs": {"last_ckpt": "work_dirs/epoch_1.pth"},
        },
        "state_dict": weights_to_cpu(model.state_dict()),
        "message_hub": hub.state_dict(),
        "optimizer": optim.state_dict(),
        "param_schedulers": [sched.state_dict()],
    }
    save_checkpoint(ckpt, path)
    return ckpt


class TinyBlock(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.attn = nn.MultiheadAttention(width, 2)
        self.ln_1 = nn.LayerNorm(width)
        self.mlp = nn.Sequential(collections.OrderedDict(
            c_fc=nn.Linear(width, 2 * width), c_proj=nn.Linear(2 * width, width)))


class TinyVisual(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.conv1 = nn.Conv2d(3, width, 4, 4, bias=False)
        self.class_embedding = nn.Parameter(torch.linspace(-1, 1, width))
        self.ln_pre = nn.LayerNorm(width)
        self.transformer = nn.Module()
        self.transformer.resblocks = nn.Sequential(TinyBlock(width))
        self.bn = nn.BatchNorm1d(width)  # a float buffer (running stats) besides parameters
        self.proj = nn.Parameter(torch.ones(width, 4) / 3)


class TinyClip(nn.Module):
    """An OpenAI-CLIP-shaped module: fp16 conv/linear/attention/proj, int64 0-d buffers."""

    def __init__(self, width=8):
        super().__init__()
        self.visual = TinyVisual(width)
        self.token_embedding = nn.Embedding(10, width)
        self.positional_embedding = nn.Parameter(torch.arange(4 * width, dtype=torch.float32).reshape(4, width) / 32)
        self.ln_final = nn.LayerNorm(width)
        self.text_projection = nn.Parameter(torch.eye(width, 4))
        self.logit_scale = nn.Parameter(torch.tensor(4.605170249938965))
        self.register_buffer("input_resolution", torch.tensor(16))
        self.register_buffer("context_length", torch.tensor(4))
        self.register_buffer("vocab_size", torch.tensor(10))

    def forward(self, x):
        return x * self.logit_scale.exp()


def tiny_jit(path):
    torch.manual_seed(1)
    model = TinyClip()
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.round(p * 64) / 64)  # exactly representable in fp16
        model.visual.bn.running_mean.copy_(torch.arange(8, dtype=torch.float32) / 4)
    for m in model.modules():  # OpenAI's convert_weights
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            m.weight.data = m.weight.data.half()
            if m.bias is not None:
                m.bias.data = m.bias.data.half()
        if isinstance(m, nn.MultiheadAttention):
            for name in ["in_proj_weight", "in_proj_bias"]:
                getattr(m, name).data = getattr(m, name).data.half()
    model.visual.proj.data = model.visual.proj.data.half()
    model.text_projection.data = model.text_projection.data.half()
    scripted = torch.jit.trace(model, torch.ones(2))
    torch.jit.save(scripted, path)
    sd = scripted.state_dict()
    return sd


def main():
    os.makedirs(OUT, exist_ok=True)
    expected = {"generator": "tests/reference/make_checkpoint_fixtures.py",
                "torch": torch.__version__, "numpy": np.__version__, "files": {}}

    def save(name, obj, **kw):
        path = os.path.join(OUT, name)
        torch.save(obj, path, **kw)
        # What torch itself reads back is the reference (e.g. shared objects stay shared).
        loaded = torch.load(path, weights_only=False)
        expected["files"][name] = {"canonical": canon(loaded)}
        return loaded

    save("nested_p2.pth", nested_payload())
    save("nested_p4.pth", nested_payload(), pickle_protocol=4)
    save("views.pth", views_payload())
    save("numpy_meta.pth", numpy_payload())
    model = small_model()
    save("ordered_metadata.pth", model.state_dict())
    save("module_prefix.pth", nn.DataParallel(model).state_dict())
    legacy = os.path.join(OUT, "legacy.pth")
    torch.save({"w": torch.ones(2)}, legacy, _use_new_zipfile_serialization=False)
    expected["files"]["legacy.pth"] = {"error": "legacy"}

    mm = os.path.join(OUT, "mmengine_ckpt.pth")
    mmengine_checkpoint(mm)
    expected["files"]["mmengine_ckpt.pth"] = {"canonical": canon(torch.load(mm, weights_only=False))}

    jit = os.path.join(OUT, "tiny_jit.pt")
    sd = tiny_jit(jit)
    dropped = {"input_resolution", "context_length", "vocab_size"}
    expected["files"]["tiny_jit.pt"] = {
        "jit_state_dict": [[k, str(v.dtype).replace("torch.", ""), list(v.shape)] for k, v in sd.items()],
        "named_tensors": [
            [k, str(v.float().dtype if v.dtype == torch.float16 else v.dtype).replace("torch.", ""),
             list(v.shape), v.double().flatten().tolist()]
            for k, v in sd.items() if k not in dropped
        ],
    }
    upstream = os.path.join(UPSTREAM, "tiny", "expected.json")
    if os.path.exists(upstream):  # key/dtype/shape lists made by the real upstream code
        with open(upstream) as f:
            up = json.load(f)
        with open(os.path.join(OUT, "mmaction_clip_tiny_expected.json"), "w") as f:
            json.dump({"source": "upstream fixtures tiny/expected.json (made by the real upstream code)",
                       "checkpoint_state_dict": up["checkpoint_state_dict"], "meta_keys": up["meta_keys"],
                       "jit_state_dict": up["jit_state_dict"],
                       "sha256": up["files"]["mmaction_clip_tiny.pth"]["sha256"]}, f, indent=0)
    tiny = os.path.join(OUT, "..", "tiny", "mmaction_clip_tiny.pth")
    if os.path.exists(tiny):  # the shared upstream fixture, copied by hand (see its README)
        ck = torch.load(tiny, weights_only=False)
        expected["files"]["../tiny/mmaction_clip_tiny.pth"] = {
            "meta": canon(ck["meta"]),
            "tensor_sums": [[k, v.double().sum().item(), v.double().abs().sum().item()]
                            for k, v in ck["state_dict"].items()],
        }
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1)
    print("wrote", sorted(os.listdir(OUT)), file=sys.stderr)


if __name__ == "__main__":
    main()
