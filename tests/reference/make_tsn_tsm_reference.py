#!/usr/bin/env python3
"""Reference fixtures for Kinema's TSN / TSM (MMAction2 1.2.0 ``Recognizer2D`` with
``ResNet`` / ``ResNetTSM`` backbones), made by MMAction2's own classes and transforms.

Not run by CI. Writes, under ``tests/fixtures/recognition/``:

* ``tsn_tsm_reference.json`` -- every case below, the weight formula, the versions;
* ``tsn_r50_bn_stats.safetensors``, ``tsm_r50_bn_stats.safetensors`` -- the calibrated
  BatchNorm ``running_mean`` / ``running_var`` of the two R50 models (key = state-dict name,
  e.g. ``backbone.conv1.bn.running_mean``; float32).

Cases in the JSON (``cases.<name>``):

1. ``tsn_test``       TSN-R50, test pipeline (25 clips x TenCrop 224) on
                      ``tests/fixtures/video/carphone_pristine.mp4``: frame_inds, input shape,
                      predict() pred_score [400], argmax, and the 2048-d vector fed to fc_cls
                      (mean of the pooled backbone features over all 250 views).
2. ``tsm_test``       TSM-R50, test pipeline (8 clips x TenCrop 224): frame_inds, input shape,
                      pred_score [400], argmax, per-crop argmax of the head's [10, 400] logits.
3. ``temporal_shift`` ``TemporalShift.shift`` on ``arange(1024).view(16, 16, 2, 2)``,
                      num_segments 8, shift_div 8; input/output stored flattened in the JSON.
4. ``bn_train_vs_eval`` ResNet-18 train-mode forward with norm_eval False / True.
5. ``tsn_sgd_step``   small TSN (R18, 5 classes): two OptimWrapper.update_params steps with
                      clip max_norm 40, and a copy run from the same weights with max_norm 0.5.
6. ``tsm_optim_groups`` TSMOptimWrapperConstructor(fc_lr5=True) groups of a TSM-R18 and one step.
7. ``lr_tables``      mmengine's real schedulers (TSN MultiStepLR; TSM LinearLR + MultiStepLR
                      over the 7 TSM groups), via ``make_lr_table.run_case``.

Deterministic weights (the Rust side generates the same values; see ``weight_formula`` in
the JSON): ``state_dict()`` names sorted with Python ``sorted()``, enumerated k = 0, 1, ...
(every entry, num_batches_tracked included); for entry k with numel N and j = 0..N-1 over the
row-major flattened tensor, in float64:
    u_j = frac((j + 1) * 0.6180339887498949 + (k + 1) * 0.41421356237309515)
          (computed as s = a + b with a = (j+1)*C1, b = (k+1)*C2; u = s - floor(s))
    x_j = 2 * u_j - 1
4-D conv weight [o, i, kh, kw]: x_j * sqrt(3 / (i*kh*kw)); `.bn.weight`: 1 + 0.25*x_j;
`.bn.bias`: 0.1*x_j; `cls_head.fc_cls.weight`: x_j * (0.01*sqrt(3)); `cls_head.fc_cls.bias`:
0.01*x_j; num_batches_tracked: 100. Cast to float32 at the end. BN running stats: for the two
R50 models *calibrated* (momentum None, reset, train mode, backbone+head on 4 batches
b = 0..3 of shape [8, 3, 112, 112] with values 2 * x_j(k = 1000 + b); then momentum 0.1, eval,
num_batches_tracked 100); for the R18 cases 4-6 by formula: running_mean 0.1*x_j,
running_var 1 + 0.5*x_j.

How to run (from the repository root), with MMAction2 1.2.0 from PyPI
(``pip install --no-deps mmaction2==1.2.0``) or an export of its v1.2.0 tree in
``MMACTION2_SRC`` (see tests/reference/mmaction_import.py, which also explains how the
modules are imported without MMAction2's optional dependencies):

    /root/.cache/kinema/reference-venv/bin/python tests/reference/make_tsn_tsm_reference.py

No MMAction2 code is copied into this repository; models are built with
``mmaction.registry.MODELS.build``.

Environment: the reference venv (python 3.11, torch 2.13 CPU, torchvision 0.28, mmengine
0.10.7, mmcv-lite 2.1.0, decord 0.6.0, numpy 2.4, safetensors); all versions are recorded in
the JSON. Deterministic: no randomness is used (dropout is inactive where it matters, eval
mode or ratio 0); torch.manual_seed(0) is set anyway.
"""

import copy
import json
import math
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # make_lr_table, mmaction_import

OUT_DIR = os.path.join("tests", "fixtures", "recognition")
OUT_JSON = os.path.join(OUT_DIR, "tsn_tsm_reference.json")
VIDEO = os.path.join("tests", "fixtures", "video", "carphone_pristine.mp4")

C1 = 0.6180339887498949
C2 = 0.41421356237309515
MEAN = [123.675, 116.28, 103.53]
STD = [58.395, 57.12, 57.375]


from mmaction_import import import_mmaction  # noqa: E402  (tests/reference/mmaction_import.py)

MM = import_mmaction()
import mmaction  # noqa: E402
from mmaction.registry import MODELS, TRANSFORMS  # noqa: E402
from mmaction.structures import ActionDataSample  # noqa: E402
from mmengine.dataset import Compose, pseudo_collate  # noqa: E402
from mmengine.logging import MessageHub  # noqa: E402
from mmengine.optim import build_optim_wrapper  # noqa: E402
from mmengine.registry import init_default_scope  # noqa: E402
import make_lr_table  # noqa: E402  (tests/reference/make_lr_table.py: run_case)

TSM_CTOR = MM["tsm_optim_wrapper_constructor"].TSMOptimWrapperConstructor
TemporalShift = MM["resnet_tsm"].TemporalShift


# ----------------------------------------------------------------------------------------
# Deterministic values
# ----------------------------------------------------------------------------------------
def formula_x(k, n):
    """x_j = 2 * frac((j+1)*C1 + (k+1)*C2) - 1, j = 0..n-1, float64."""
    a = (np.arange(n, dtype=np.float64) + 1.0) * C1
    b = float(k + 1) * C2
    s = a + b
    u = s - np.floor(s)
    return 2.0 * u - 1.0


def entry_kind(name, t):
    last = name.rsplit(".", 1)[1]
    if last == "num_batches_tracked":
        return "num_batches_tracked"
    if last in ("running_mean", "running_var"):
        return last
    if name == "cls_head.fc_cls.weight" and t.dim() == 2:
        return "fc_weight"
    if name == "cls_head.fc_cls.bias" and t.dim() == 1:
        return "fc_bias"
    if last == "weight" and t.dim() == 4:
        return "conv_weight"
    if name.endswith(".bn.weight") and t.dim() == 1:
        return "bn_weight"
    if name.endswith(".bn.bias") and t.dim() == 1:
        return "bn_bias"
    raise ValueError(f"no formula for {name} {tuple(t.shape)}")


def set_formula_weights(model, stats_by_formula):
    """Overwrite every state-dict entry; running stats by formula only if asked."""
    sd = model.state_dict()
    new = {}
    for k, name in enumerate(sorted(sd.keys())):
        t = sd[name]
        kind = entry_kind(name, t)
        if kind == "num_batches_tracked":
            new[name] = torch.full_like(t, 100)
            continue
        x = formula_x(k, t.numel())
        if kind == "conv_weight":
            _, i, kh, kw = t.shape
            v = x * math.sqrt(3.0 / (i * kh * kw))
        elif kind == "bn_weight":
            v = 1.0 + 0.25 * x
        elif kind == "bn_bias":
            v = 0.1 * x
        elif kind == "fc_weight":
            v = x * (0.01 * math.sqrt(3.0))
        elif kind == "fc_bias":
            v = 0.01 * x
        elif kind == "running_mean":
            if not stats_by_formula:
                new[name] = t.clone()
                continue
            v = 0.1 * x
        elif kind == "running_var":
            if not stats_by_formula:
                new[name] = t.clone()
                continue
            v = 1.0 + 0.5 * x
        new[name] = torch.from_numpy(v.reshape(tuple(t.shape))).float()
        assert t.dtype == torch.float32, name
    model.load_state_dict(new, strict=True)


def bn_modules(model):
    return [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]


def calibrate_bn(model, num_segs):
    for m in bn_modules(model):
        m.momentum = None
        m.reset_running_stats()
    model.train()
    with torch.no_grad():
        for b in range(4):
            shape = (8, 3, 112, 112)
            x = torch.from_numpy((formula_x(1000 + b, int(np.prod(shape))) * 2.0).reshape(shape)).float()
            feats = model.backbone(x)
            model.cls_head(feats, num_segs=num_segs)
    for m in bn_modules(model):
        m.momentum = 0.1
        m.num_batches_tracked.fill_(100)
    model.eval()


def state_layout(model):
    sd = model.state_dict()
    return [{"name": n, "shape": list(sd[n].shape), "dtype": str(sd[n].dtype).replace("torch.", ""),
             "kind": entry_kind(n, sd[n])} for n in sorted(sd.keys())]


def flist(t):
    return [float(v) for v in t.detach().reshape(-1).tolist()]


def save_bn_stats(model, path):
    from safetensors.torch import save_file
    sd = model.state_dict()
    stats = {n: sd[n].detach().clone().contiguous() for n in sorted(sd)
             if n.endswith(".running_mean") or n.endswith(".running_var")}
    save_file(stats, path)
    return len(stats)


# ----------------------------------------------------------------------------------------
# Models
# ----------------------------------------------------------------------------------------
PREPROCESSOR = dict(type="ActionDataPreprocessor", mean=MEAN, std=STD, format_shape="NCHW")


def tsn_r50():
    return MODELS.build(dict(
        type="Recognizer2D",
        backbone=dict(type="ResNet", pretrained=None, depth=50, norm_eval=False),
        cls_head=dict(type="TSNHead", num_classes=400, in_channels=2048, spatial_type="avg",
                      consensus=dict(type="AvgConsensus", dim=1), dropout_ratio=0.4, init_std=0.01,
                      average_clips="prob"),
        data_preprocessor=copy.deepcopy(PREPROCESSOR), train_cfg=None, test_cfg=None))


def tsm_r50():
    return MODELS.build(dict(
        type="Recognizer2D",
        backbone=dict(type="ResNetTSM", pretrained=None, pretrained2d=False, depth=50,
                      norm_eval=False, shift_div=8, num_segments=8),
        cls_head=dict(type="TSMHead", num_classes=400, in_channels=2048, num_segments=8,
                      spatial_type="avg", consensus=dict(type="AvgConsensus", dim=1),
                      dropout_ratio=0.5, init_std=0.001, is_shift=True, average_clips="prob"),
        data_preprocessor=copy.deepcopy(PREPROCESSOR), train_cfg=None, test_cfg=None))


def tsn_r18_small():
    return MODELS.build(dict(
        type="Recognizer2D",
        backbone=dict(type="ResNet", pretrained=None, depth=18, norm_eval=False),
        cls_head=dict(type="TSNHead", num_classes=5, in_channels=512, dropout_ratio=0.0,
                      init_std=0.01, average_clips="prob"),
        data_preprocessor=copy.deepcopy(PREPROCESSOR)))


def tsm_r18_small():
    return MODELS.build(dict(
        type="Recognizer2D",
        backbone=dict(type="ResNetTSM", depth=18, num_segments=8, pretrained=None, pretrained2d=False),
        cls_head=dict(type="TSMHead", num_classes=5, in_channels=512, num_segments=8, dropout_ratio=0.0),
        data_preprocessor=copy.deepcopy(PREPROCESSOR)))


# ----------------------------------------------------------------------------------------
# Cases
# ----------------------------------------------------------------------------------------
def run_pipeline(num_clips):
    pipeline = Compose([TRANSFORMS.build(c) for c in [
        dict(type="DecordInit", io_backend="disk"),
        dict(type="SampleFrames", clip_len=1, frame_interval=1, num_clips=num_clips, test_mode=True),
        dict(type="DecordDecode"),
        dict(type="Resize", scale=(-1, 256)),
        dict(type="TenCrop", crop_size=224),
        dict(type="FormatShape", input_format="NCHW"),
    ]])
    results = pipeline(dict(filename=VIDEO, label=-1, start_index=0, modality="RGB"))
    packed = TRANSFORMS.build(dict(type="PackActionInputs"))(copy.deepcopy(results))
    return results, packed


def pipeline_record(results, packed):
    inputs = packed["inputs"]
    arr = inputs.numpy()
    import hashlib
    return {
        "total_frames": int(results["total_frames"]),
        "avg_fps": float(results["avg_fps"]),
        "frame_inds": [int(v) for v in results["frame_inds"]],
        "original_shape": list(results["original_shape"]),
        "img_shape": list(results["img_shape"]),
        "crop_bboxes": [list(map(int, b)) for b in results["crop_bbox"]],
        "packed_input_shape": list(inputs.shape),
        "packed_input_dtype": str(inputs.dtype).replace("torch.", ""),
        "packed_input_sha256": hashlib.sha256(np.ascontiguousarray(arr).tobytes()).hexdigest(),
        "packed_input_sum": int(arr.astype(np.int64).sum()),
        "packed_input_view_sums": [int(v) for v in arr.reshape(arr.shape[0], -1).astype(np.int64).sum(1)],
    }


def predict(model, packed):
    data = pseudo_collate([packed])
    with torch.no_grad():
        data = model.data_preprocessor(data, False)
        out = model(**data, mode="predict")
    return data, out[0]


def case_tsn_test(model):
    results, packed = run_pipeline(25)
    rec = pipeline_record(results, packed)
    fc_in = {}
    h = model.cls_head.fc_cls.register_forward_pre_hook(lambda m, args: fc_in.__setitem__("x", args[0].clone()))
    data, sample = predict(model, packed)
    h.remove()
    score = sample.pred_score
    rec.update({
        "pipeline": ["DecordInit", "SampleFrames(clip_len=1, frame_interval=1, num_clips=25, test_mode=True)",
                     "DecordDecode", "Resize(scale=(-1, 256))", "TenCrop(crop_size=224)",
                     "FormatShape('NCHW')", "PackActionInputs"],
        "preprocessed_input_shape": list(data["inputs"].shape),
        "pred_score": flist(score),
        "pred_score_sum": float(score.sum()),
        "argmax": int(score.argmax()),
        "pred_label": int(sample.pred_label.item()),
        "fc_input_mean_feature": flist(fc_in["x"]),
        "fc_input_shape": list(fc_in["x"].shape),
        "note": "fc_input_mean_feature = input of cls_head.fc_cls = mean over the 250 views of the "
                "AdaptiveAvgPool2d(1) backbone features (dropout is identity in eval mode).",
    })
    return rec


def case_tsm_test(model):
    results, packed = run_pipeline(8)
    rec = pipeline_record(results, packed)
    head_out = {}
    h = model.cls_head.register_forward_hook(lambda m, a, o: head_out.__setitem__("y", o.clone()))
    data, sample = predict(model, packed)
    h.remove()
    score = sample.pred_score
    logits = head_out["y"]
    rec.update({
        "pipeline": ["DecordInit", "SampleFrames(clip_len=1, frame_interval=1, num_clips=8, test_mode=True)",
                     "DecordDecode", "Resize(scale=(-1, 256))", "TenCrop(crop_size=224)",
                     "FormatShape('NCHW')", "PackActionInputs"],
        "preprocessed_input_shape": list(data["inputs"].shape),
        "pred_score": flist(score),
        "pred_score_sum": float(score.sum()),
        "argmax": int(score.argmax()),
        "pred_label": int(sample.pred_label.item()),
        "per_crop_logits_shape": list(logits.shape),
        "per_crop_logits_argmax": [int(v) for v in logits.argmax(dim=1)],
        "per_crop_logits_first8": [flist(r[:8]) for r in logits],
        "note": "per_crop logits = TSMHead output [10, 400] (mean over 8 frames of per-frame fc logits); "
                "crop order UL, UL-flip, UR, UR-flip, LL, LL-flip, LR, LR-flip, C, C-flip.",
    })
    return rec


def case_temporal_shift():
    x = torch.arange(2 * 8 * 16 * 2 * 2, dtype=torch.float32).view(16, 16, 2, 2)
    y = TemporalShift.shift(x, 8, shift_div=8)
    return {
        "input": "torch.arange(1024, dtype=float32).view(16, 16, 2, 2)",
        "num_segments": 8, "shift_div": 8,
        "input_shape": [16, 16, 2, 2], "output_shape": list(y.shape),
        "output_flat": [int(v) for v in y.reshape(-1).tolist()],
        "storage": "output stored flattened (row-major) in this JSON as integers (exact)",
    }


def formula_input(k, shape, scale=2.0):
    return torch.from_numpy((formula_x(k, int(np.prod(shape))) * scale).reshape(shape)).float()


def case_bn_train_vs_eval():
    x = formula_input(2000, (2, 3, 64, 64))
    out = {"input": "2.0 * x_j(k=2000), shape [2, 3, 64, 64], float32",
           "model": "ResNet(depth=18, pretrained=None, norm_eval=...) standalone (state-dict names without "
                    "'backbone.'), formula weights, running_mean = 0.1*x_j, running_var = 1 + 0.5*x_j, "
                    "num_batches_tracked = 100; forward under torch.no_grad() after model.train()"}
    for norm_eval in (False, True):
        torch.manual_seed(0)
        net = MODELS.build(dict(type="ResNet", depth=18, pretrained=None, norm_eval=norm_eval))
        set_formula_weights(net, stats_by_formula=True)
        bn = net.conv1.bn
        before_mean, before_var = bn.running_mean.clone(), bn.running_var.clone()
        all_before = {n: b.clone() for n, b in net.named_buffers()}
        net.train()
        with torch.no_grad():
            y = net(x)
        changed = any(not torch.equal(all_before[n], b) for n, b in net.named_buffers())
        rec = {
            "norm_eval": norm_eval,
            "bn_training_flags": sorted({m.training for m in bn_modules(net)}),
            "output_shape": list(y.shape),
            "output_sum": float(y.sum()),
            "output_first16": flist(y.reshape(-1)[:16]),
            "conv1_bn_running_mean_before_first8": flist(before_mean[:8]),
            "conv1_bn_running_var_before_first8": flist(before_var[:8]),
            "conv1_bn_running_mean_after_first8": flist(bn.running_mean[:8]),
            "conv1_bn_running_var_after_first8": flist(bn.running_var[:8]),
            "conv1_bn_num_batches_tracked_after": int(bn.num_batches_tracked),
            "layer4_1_conv2_bn_running_mean_after_first8": flist(net.layer4[1].conv2.bn.running_mean[:8]),
            "layer4_1_conv2_bn_running_var_after_first8": flist(net.layer4[1].conv2.bn.running_var[:8]),
            "any_buffer_changed": changed,
        }
        out["norm_eval_true" if norm_eval else "norm_eval_false"] = rec
    out["recorded_states"] = ("conv1.bn (nn.BatchNorm2d in the stem ConvModule): running_mean, running_var "
                              "(first 8 of 64) before and after the one train-mode forward, num_batches_tracked "
                              "after; layer4.1.conv2.bn running stats after; any_buffer_changed compares every "
                              "buffer of the ResNet before/after. Each norm_eval variant is a fresh build with "
                              "the same formula weights.")
    return out


def uint8_sample(k_sample, shape):
    n = int(np.prod(shape))
    j = np.arange(n, dtype=np.int64)
    return torch.from_numpy(((j * 7 + k_sample * 13) % 256).astype(np.uint8).reshape(shape))


def make_batch(shapes_labels):
    inputs, samples = [], []
    for k_sample, (shape, label) in enumerate(shapes_labels):
        inputs.append(uint8_sample(k_sample, shape))
        samples.append(ActionDataSample().set_gt_label(label))
    return dict(inputs=inputs, data_samples=samples)


def grad_norm_from_hub():
    return float(MessageHub.get_current_instance().get_scalar("train/grad_norm").current())


def param_snapshot(model):
    p = dict(model.named_parameters())
    return {
        "backbone.conv1.conv.weight_first8": flist(p["backbone.conv1.conv.weight"].reshape(-1)[:8]),
        "cls_head.fc_cls.weight_first8": flist(p["cls_head.fc_cls.weight"].reshape(-1)[:8]),
        "cls_head.fc_cls.bias": flist(p["cls_head.fc_cls.bias"]),
        "backbone.conv1.bn.running_mean_first8": flist(model.backbone.conv1.bn.running_mean[:8]),
        "param_sums_sorted": [[n, float(p[n].detach().double().sum())] for n in sorted(p)],
    }


def train_steps(model, wrapper, batch, steps):
    recs = []
    for s in range(steps):
        model.train()
        data = model.data_preprocessor(copy.deepcopy(batch), True)
        losses = model(**data, mode="loss")
        loss, log_vars = model.parse_losses(losses)
        wrapper.update_params(loss)
        recs.append({
            "step": s + 1,
            "loss": float(loss.detach()),
            "loss_cls": float(losses["loss_cls"].detach()),
            "top1_acc": float(losses["top1_acc"]),
            "top5_acc": float(losses["top5_acc"]),
            "grad_norm_before_clip": grad_norm_from_hub(),
            "after_step": param_snapshot(model),
        })
    # loss of the model after the last step (train mode forward, no update)
    with torch.no_grad():
        model.train()
        data = model.data_preprocessor(copy.deepcopy(batch), True)
        final_loss = float(model(**data, mode="loss")["loss_cls"])
    return recs, final_loss


def case_tsn_sgd_step():
    batch_spec = [((3, 3, 64, 64), 1), ((3, 3, 64, 64), 3)]
    out = {
        "model": "Recognizer2D(ResNet(depth=18, pretrained=None, norm_eval=False), TSNHead(num_classes=5, "
                 "in_channels=512, dropout_ratio=0.0, init_std=0.01, average_clips='prob'), "
                 "ActionDataPreprocessor(mean, std, 'NCHW')); formula weights, running stats by formula "
                 "(running_mean 0.1*x_j, running_var 1 + 0.5*x_j, num_batches_tracked 100)",
        "input_formula": "sample s (s = 0, 1) is a uint8 tensor of shape [3, 3, 64, 64] (3 segments, C, H, W); "
                         "flattened row-major index j = 0..36863: value = (j * 7 + s * 13) % 256; batch = "
                         "stack -> [2, 3, 3, 64, 64]",
        "labels": [1, 3],
        "optim_wrapper": None,
        "procedure": "per step: model.train(); data = data_preprocessor(batch, training=True); losses = "
                     "model(**data, mode='loss'); loss = parse_losses(losses)[0]; optim_wrapper.update_params(loss) "
                     "(backward, clip_grad_norm_, SGD step, zero_grad); grad_norm = the value clip_grad_norm_ "
                     "returned (pre-clip total L2 norm, MessageHub 'train/grad_norm'). 'loss' of step 2 is "
                     "computed with the weights after step 1. final_loss_after_steps: one more train-mode "
                     "forward (BN stats update) without a step.",
    }
    initial = None
    for tag, max_norm in (("clip40", 40.0), ("clip0_5", 0.5)):
        torch.manual_seed(0)
        model = tsn_r18_small()
        set_formula_weights(model, stats_by_formula=True)
        if initial is None:
            initial = copy.deepcopy(model.state_dict())
        else:
            model.load_state_dict(initial)
        cfg = dict(type="OptimWrapper", optimizer=dict(type="SGD", lr=0.01, momentum=0.9, weight_decay=1e-4),
                   clip_grad=dict(max_norm=max_norm, norm_type=2))
        out["optim_wrapper"] = cfg if out["optim_wrapper"] is None else out["optim_wrapper"]
        wrapper = build_optim_wrapper(model, copy.deepcopy(cfg))
        batch = make_batch(batch_spec)
        recs, final_loss = train_steps(model, wrapper, batch, 2)
        out[tag] = {"clip_grad": dict(max_norm=max_norm, norm_type=2), "steps": recs,
                    "final_loss_after_steps": final_loss,
                    "clipped": [r["grad_norm_before_clip"] > max_norm for r in recs]}
        if tag == "clip40":
            out["initial"] = param_snapshot(model_initial(initial))
    return out


def model_initial(sd):
    m = tsn_r18_small()
    m.load_state_dict(sd)
    return m


def case_tsm_optim_groups():
    torch.manual_seed(0)
    model = tsm_r18_small()
    set_formula_weights(model, stats_by_formula=True)
    cfg = dict(optimizer=dict(type="SGD", lr=0.02, momentum=0.9, weight_decay=1e-4),
               clip_grad=dict(max_norm=20, norm_type=2))
    ctor = TSM_CTOR(optim_wrapper_cfg=copy.deepcopy(cfg), paramwise_cfg=dict(fc_lr5=True))
    wrapper = ctor(model)
    names = {id(p): n for n, p in model.named_parameters()}
    groups = [{"index": i, "params": [names[id(p)] for p in g["params"]], "lr": g["lr"],
               "weight_decay": g["weight_decay"], "momentum": g["momentum"]}
              for i, g in enumerate(wrapper.optimizer.param_groups)]
    batch = make_batch([((8, 3, 64, 64), 2)])
    recs, final_loss = train_steps(model, wrapper, batch, 1)
    p = dict(model.named_parameters())
    return {
        "model": "Recognizer2D(ResNetTSM(depth=18, num_segments=8, pretrained=None, pretrained2d=False), "
                 "TSMHead(num_classes=5, in_channels=512, num_segments=8, dropout_ratio=0.0), preprocessor); "
                 "formula weights, running stats by formula as in bn_train_vs_eval",
        "constructor": "TSMOptimWrapperConstructor",
        "optim_wrapper_cfg": cfg, "paramwise_cfg": dict(fc_lr5=True),
        "group_names": ["first_conv_weight", "first_conv_bias", "normal_weight", "normal_bias", "bn",
                        "lr5_weight", "lr10_bias"],
        "param_groups": groups,
        "input_formula": "one sample, uint8 [8, 3, 64, 64], value = (j * 7 + 0 * 13) % 256 over the flattened "
                         "row-major index j; batch [1, 8, 3, 64, 64]",
        "labels": [2],
        "step": recs[0],
        "clipped": recs[0]["grad_norm_before_clip"] > 20,
        "final_loss_after_step": final_loss,
        "fc_weight_after_step": flist(p["cls_head.fc_cls.weight"]),
        "fc_weight_shape": list(p["cls_head.fc_cls.weight"].shape),
        "fc_bias_after_step": flist(p["cls_head.fc_cls.bias"]),
    }


def case_lr_tables():
    tsn = make_lr_table.run_case(
        "tsn_sgd_100e", tsn_r18_small(),
        dict(type="OptimWrapper", optimizer=dict(type="SGD", lr=0.01, momentum=0.9, weight_decay=1e-4),
             clip_grad=dict(max_norm=40, norm_type=2)),
        [dict(type="MultiStepLR", begin=0, end=100, by_epoch=True, milestones=[40, 80], gamma=0.1)],
        epoch_length=2, max_epochs=100)
    tsm = make_lr_table.run_case(
        "tsm_sgd_50e", tsm_r18_small(),
        dict(constructor="mmaction.TSMOptimWrapperConstructor", paramwise_cfg=dict(fc_lr5=True),
             optimizer=dict(type="SGD", lr=0.02, momentum=0.9, weight_decay=1e-4),
             clip_grad=dict(max_norm=20, norm_type=2)),
        [dict(type="LinearLR", start_factor=0.1, by_epoch=True, begin=0, end=5),
         dict(type="MultiStepLR", begin=0, end=50, by_epoch=True, milestones=[25, 45], gamma=0.1)],
        epoch_length=2, max_epochs=50)
    for c in (tsn, tsm):
        c["num_groups"] = len(c["lr"][0])
    return {"note": "made with tests/reference/make_lr_table.py run_case (lr[i][g] = lr of group g as "
                    "iteration i sees it, read from OptimWrapper.param_groups). TSN: 1 column (the single SGD "
                    "group). TSM: 8 columns = the 7 TSMOptimWrapperConstructor groups in the order of "
                    "tsm_optim_groups.param_groups (empty ones included) + LAST the mmengine "
                    "'base_param_settings' pseudo-group (optimizer defaults, lr 0.02 base; mmengine appends it "
                    "to OptimWrapper.param_groups when the optimizer has > 1 group; it holds no model "
                    "parameter, is scheduled like the others and is what mmengine logs as 'lr').",
            "tsn": tsn, "tsm": tsm}


# ----------------------------------------------------------------------------------------
def versions():
    import decord
    import mmcv
    import mmengine
    import safetensors
    import torchvision
    import cv2
    return {"python": sys.version.split()[0], "torch": torch.__version__, "torchvision": torchvision.__version__,
            "mmengine": mmengine.__version__, "mmcv": mmcv.__version__, "mmaction2": mmaction.__version__,
            "mmaction2_commit": "4d6c93474730cad2f25e51109adcf96824efc7a3 (v1.2.0)",
            "decord": decord.__version__, "numpy": np.__version__, "cv2": cv2.__version__,
            "safetensors": safetensors.__version__}


def main():
    init_default_scope("mmaction")  # as the Runner does (default_scope='mmaction' in default_runtime.py)
    torch.manual_seed(0)
    os.makedirs(OUT_DIR, exist_ok=True)
    doc = {
        "versions": versions(),
        "weight_formula": {
            "order": "model.state_dict() names sorted with Python sorted(); k = 0, 1, ... over every entry "
                     "(num_batches_tracked included)",
            "x": "float64: a = (j + 1) * 0.6180339887498949; b = (k + 1) * 0.41421356237309515; s = a + b; "
                 "u = s - floor(s); x_j = 2 * u - 1; j over the row-major flattened tensor",
            "conv_weight (4-D [o, i, kh, kw])": "x_j * sqrt(3 / (i * kh * kw))",
            "bn_weight (.bn.weight)": "1 + 0.25 * x_j",
            "bn_bias (.bn.bias)": "0.1 * x_j",
            "fc_weight (cls_head.fc_cls.weight)": "x_j * (0.01 * sqrt(3))",
            "fc_bias (cls_head.fc_cls.bias)": "0.01 * x_j",
            "num_batches_tracked": "100 (int64)",
            "running_mean / running_var": "R50 models: calibrated (see bn_calibration); R18 cases: "
                                          "running_mean = 0.1 * x_j, running_var = 1 + 0.5 * x_j",
            "cast": "float64 -> float32 at the end",
        },
        "bn_calibration": "after the formula weights: every BatchNorm momentum=None, reset_running_stats(), "
                          "model.train(); under torch.no_grad for b = 0..3: x_b = float32(2.0 * x_j(k = 1000 + b)) "
                          "reshaped to [8, 3, 112, 112]; cls_head(backbone(x_b), num_segs=8); then momentum = 0.1, "
                          "num_batches_tracked = 100, model.eval(). Resulting running stats saved to "
                          "<model>_bn_stats.safetensors (float32, keys = state-dict names).",
        "preprocessor": {"mean": MEAN, "std": STD, "format_shape": "NCHW"},
        "models": {},
        "cases": {},
    }

    for name, build, case in [("tsn_r50", tsn_r50, case_tsn_test), ("tsm_r50", tsm_r50, case_tsm_test)]:
        print(f"building {name} ...", flush=True)
        torch.manual_seed(0)
        model = build()
        set_formula_weights(model, stats_by_formula=False)
        calibrate_bn(model, num_segs=8)
        stats_file = f"{name}_bn_stats.safetensors"
        n = save_bn_stats(model, os.path.join(OUT_DIR, stats_file))
        doc["models"][name] = {"state_dict": state_layout(model), "bn_stats_file": stats_file, "bn_stats_tensors": n}
        test_case = name.replace("_r50", "_test")
        print(f"{test_case} ...", flush=True)
        doc["cases"][test_case] = case(model)
        del model

    print("small cases ...", flush=True)
    doc["cases"]["temporal_shift"] = case_temporal_shift()
    doc["cases"]["bn_train_vs_eval"] = case_bn_train_vs_eval()
    doc["cases"]["tsn_sgd_step"] = case_tsn_sgd_step()
    doc["models"]["tsn_r18_small"] = {"state_dict": state_layout(tsn_r18_small())}
    doc["cases"]["tsm_optim_groups"] = case_tsm_optim_groups()
    doc["models"]["tsm_r18_small"] = {"state_dict": state_layout(tsm_r18_small())}
    doc["models"]["resnet18_standalone"] = {
        "state_dict": state_layout(MODELS.build(dict(type="ResNet", depth=18, pretrained=None)))}
    doc["cases"]["lr_tables"] = case_lr_tables()

    with open(OUT_JSON, "w") as f:
        json.dump(doc, f, indent=1, allow_nan=False)
    for name in sorted(os.listdir(OUT_DIR)):
        print(f"{os.path.join(OUT_DIR, name)}: {os.path.getsize(os.path.join(OUT_DIR, name))} bytes")


if __name__ == "__main__":
    main()
