"""The MMAction2 side of Kinema's TSN benchmark (tools/bench_recognition.sh; not run by CI).

Modes (MMAction2 1.2.0 imported as tests/reference/mmaction_import.py explains):

* ``make CKPT``: a random-weight TSN-R50 (400 classes) checkpoint in MMAction2's layout.
* ``train-step --batch B --segs T``: MMAction2's Recognizer2D (ResNet-50 + TSNHead, as
  configs/_base_/models/tsn_r50.py without pretrained weights) on uint8 inputs
  [B, T, 3, 224, 224] made before timing; each timed step is the data preprocessor
  (training), ``model(mode='loss')``, and ``OptimWrapper.update_params`` (backward, clip
  40, SGD lr 0.01 momentum 0.9 weight decay 1e-4). Prints ``PYTORCH_TSN_TRAIN_STEP``.
* ``test CKPT VIDEO OUT_JSON``: the TSN 1x1x3 config's test protocol on one video: its
  test pipeline (25 clips, Resize to short side 256, TenCrop 224 = 250 views), the data
  preprocessor and ``model.test_step``. Prints ``PYTHON_TSN_TEST`` with the time from
  the video path to the scores (decode, transforms, model; model already loaded) and
  the model-loading time; writes the 400 scores to OUT_JSON.

Peak resident memory of the process (getrusage) is printed with each line.
"""
import argparse
import json
import os
import resource
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mmaction_import import import_mmaction  # noqa: E402

import_mmaction()
from mmaction.registry import MODELS  # noqa: E402
from mmaction.structures import ActionDataSample  # noqa: E402
from mmengine.dataset import Compose, pseudo_collate  # noqa: E402
from mmengine.optim import build_optim_wrapper  # noqa: E402
from mmengine.registry import init_default_scope  # noqa: E402

MODEL = dict(
    type="Recognizer2D",
    backbone=dict(type="ResNet", pretrained=None, depth=50, norm_eval=False),
    cls_head=dict(type="TSNHead", num_classes=400, in_channels=2048, spatial_type="avg",
                  consensus=dict(type="AvgConsensus", dim=1), dropout_ratio=0.4, init_std=0.01,
                  average_clips="prob"),
    data_preprocessor=dict(type="ActionDataPreprocessor", mean=[123.675, 116.28, 103.53],
                           std=[58.395, 57.12, 57.375], format_shape="NCHW"))
TEST_PIPELINE = [
    dict(type="DecordInit", io_backend="disk"),
    dict(type="SampleFrames", clip_len=1, frame_interval=1, num_clips=25, test_mode=True),
    dict(type="DecordDecode"),
    dict(type="Resize", scale=(-1, 256)),
    dict(type="TenCrop", crop_size=224),
    dict(type="FormatShape", input_format="NCHW"),
    dict(type="PackActionInputs"),
]


def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


def build():
    init_default_scope("mmaction")
    torch.manual_seed(0)
    model = MODELS.build(MODEL)
    model.init_weights()
    return model


def make(path):
    model = build()
    torch.save({"meta": {"mmaction_version": "1.2.0"}, "state_dict": model.state_dict()}, path)


def train_step(args):
    model = build()
    model.train()
    optim = build_optim_wrapper(model, dict(
        optimizer=dict(type="SGD", lr=0.01, momentum=0.9, weight_decay=0.0001),
        clip_grad=dict(max_norm=40, norm_type=2)))
    g = torch.Generator().manual_seed(0)
    inputs = [torch.randint(0, 256, (args.segs, 3, 224, 224), dtype=torch.uint8, generator=g)
              for _ in range(args.batch)]
    samples = [ActionDataSample().set_gt_label(i % 400) for i in range(args.batch)]
    times = []
    for i in range(args.warmup + args.iters):
        t = time.perf_counter()
        data = model.data_preprocessor(dict(inputs=inputs, data_samples=samples), training=True)
        losses = model(**data, mode="loss")
        loss, _ = model.parse_losses(losses)
        optim.update_params(loss)
        if i >= args.warmup:
            times.append(time.perf_counter() - t)
    print(f"PYTORCH_TSN_TRAIN_STEP batch={args.batch} segs={args.segs} iters={len(times)} "
          f"median_s={statistics.median(times):.3f} min_s={min(times):.3f} peak_rss_mb={peak_mb()}")


def test(args):
    t0 = time.perf_counter()
    model = build()
    state = torch.load(args.ckpt, map_location="cpu", weights_only=True)["state_dict"]
    model.load_state_dict(state, strict=True)
    model.eval()
    pipeline = Compose(TEST_PIPELINE)
    loaded = time.perf_counter() - t0
    t = time.perf_counter()
    data = pipeline(dict(filename=args.video, label=-1, start_index=0, modality="RGB"))
    with torch.no_grad():
        out = model.test_step(pseudo_collate([data]))
    scores = out[0].pred_score.tolist()
    wall = time.perf_counter() - t
    json.dump({"scores": scores}, open(args.out, "w"))
    print(f"PYTHON_TSN_TEST views={data['inputs'].shape[0]} run_s={wall:.2f} model_load_s={loaded:.2f} "
          f"peak_rss_mb={peak_mb()}")


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="mode", required=True)
    m = sub.add_parser("make")
    m.add_argument("ckpt")
    s = sub.add_parser("train-step")
    s.add_argument("--batch", type=int, default=2)
    s.add_argument("--segs", type=int, default=8)
    s.add_argument("--threads", type=int, default=os.cpu_count())
    s.add_argument("--warmup", type=int, default=2)
    s.add_argument("--iters", type=int, default=5)
    t = sub.add_parser("test")
    t.add_argument("ckpt")
    t.add_argument("video")
    t.add_argument("out")
    t.add_argument("--threads", type=int, default=os.cpu_count())
    args = ap.parse_args()
    torch.set_num_threads(getattr(args, "threads", os.cpu_count()))
    {"make": lambda: make(args.ckpt), "train-step": lambda: train_step(args), "test": lambda: test(args)}[args.mode]()


if __name__ == "__main__":
    main()
