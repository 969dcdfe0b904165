"""The PyTorch reference loops for `tools/infer` on long videos and many videos (not run by CI).

What a PyTorch user writes today with MMAction2's ActionCLIP (open_clip's ViT-B-32 with
QuickGELU = OpenAI's CLIP module for module, MMAction2's TransformerAdapter from
bench_actionclip.py, the MMAction2 test transforms of bench_pipeline.py: Resize(-1, 256),
CenterCrop(224)), text features once:

    timeline: for each window (the grid and windows of docs/zero_shot.md): decode the
              window's frames, transform, encode_video, score. Nothing is shared
              between overlapping windows.
    many:     for each video of a list: the test pipeline (SampleFrames 8, test mode),
              encode_video, score.

Frames come from decord (`get_batch`) or torchcodec (`VideoDecoder.get_frames_at`, which
decodes the same frames bit-identically).

    python bench_long_video.py timeline CKPT VIDEO LABELS --decoder decord --sample-fps 4 --stride 4 \\
        [--max-windows N] [--json OUT]
    python bench_long_video.py many CKPT LIST LABELS --decoder torchcodec [--json OUT]

Prints `PY_TIMELINE decoder=.. windows=N seconds=S windows_per_s=R` or
`PY_MANY decoder=.. videos=N seconds=S clips_per_s=R`, and with --json the scores.
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import open_clip
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_pipeline as pipe  # noqa: E402
from bench_infer import MEAN, STD  # noqa: E402
from bench_infer import load as load_weights  # noqa: E402

T = 8


class Frames:
    """Random access to frames with one of the two decoders."""

    def __init__(self, path, decoder):
        self.decoder = decoder
        if decoder == "decord":
            import decord

            self.vr = decord.VideoReader(path, num_threads=1)
            self.count, self.fps = len(self.vr), self.vr.get_avg_fps()
        else:
            from torchcodec.decoders import VideoDecoder

            self.vr = VideoDecoder(path, seek_mode="exact", num_ffmpeg_threads=1)
            self.count, self.fps = self.vr.metadata.num_frames, self.vr.metadata.average_fps

    def get(self, inds):
        """uint8 HWC frames, a list."""
        if self.decoder == "decord":
            return list(self.vr.get_batch(list(inds)).asnumpy())
        batch = self.vr.get_frames_at(indices=list(inds)).data  # [N, 3, H, W]
        return list(batch.permute(0, 2, 3, 1).numpy())


def transform(imgs):
    r = {"imgs": imgs, "img_shape": imgs[0].shape[:2]}
    pipe.resize(r, (np.inf, 256))
    pipe.center_crop(r, 224)
    return pipe.format_nchw(r)  # uint8 [N, 3, 224, 224]


def load(ckpt, labels_file, template):
    clip, adapter = load_weights(ckpt)
    labels = [line.strip() for line in open(labels_file) if line.strip()]
    with torch.no_grad():
        t = clip.encode_text(open_clip.tokenize([template.format(c) for c in labels]))
        t = t / t.norm(dim=-1, keepdim=True)
    return clip, adapter, t


def score(clip, adapter, text, frames):
    x = (frames.float() - MEAN) / STD
    v = adapter(clip.encode_image(x).unsqueeze(0))
    v = v / v.norm(dim=-1, keepdim=True)
    return ((100.0 * v) @ text.T).softmax(dim=-1)[0]


def timeline(a):
    clip, adapter, text = load(a.ckpt, a.labels, a.template)
    src = Frames(a.input, a.decoder)
    k = max(1, round(src.fps / a.sample_fps))
    m = a.stride
    grid = -(-src.count // k)
    windows = (grid - T) // m + 1 if grid >= T else 0
    if a.max_windows:
        windows = min(windows, a.max_windows)
    out = []
    start = time.perf_counter()
    with torch.no_grad():
        for j in range(windows):
            inds = [(j * m + i) * k for i in range(T)]
            s = score(clip, adapter, text, transform(src.get(inds)))
            out.append({"frame_inds": inds, "scores": s.tolist()})
    secs = time.perf_counter() - start
    print(f"PY_TIMELINE decoder={a.decoder} windows={windows} seconds={secs:.2f} windows_per_s={windows / secs:.3f}"
          f" frame_interval={k} video_frames={src.count} fps={src.fps:.3f}")
    return out


def many(a):
    clip, adapter, text = load(a.ckpt, a.labels, a.template)
    videos = [line.split()[0] for line in open(a.input) if line.strip()]
    out = []
    start = time.perf_counter()
    with torch.no_grad():
        for v in videos:
            src = Frames(v, a.decoder)
            r = {"total_frames": src.count}
            pipe.sample_frames(r, True)
            s = score(clip, adapter, text, transform(src.get(r["frame_inds"].tolist())))
            out.append({"video": v, "scores": s.tolist()})
    secs = time.perf_counter() - start
    print(f"PY_MANY decoder={a.decoder} videos={len(videos)} seconds={secs:.2f} clips_per_s={len(videos) / secs:.3f}")
    return out


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["timeline", "many"])
    p.add_argument("ckpt")
    p.add_argument("input")
    p.add_argument("labels")
    p.add_argument("--template", default="a video of {}")
    p.add_argument("--decoder", choices=["decord", "torchcodec"], default="decord")
    p.add_argument("--sample-fps", type=float, default=4.0)
    p.add_argument("--stride", type=int, default=4)
    p.add_argument("--max-windows", type=int, default=0)
    p.add_argument("--json")
    a = p.parse_args()
    torch.set_num_threads(int(os.environ.get("BENCH_THREADS", os.cpu_count())))
    result = timeline(a) if a.mode == "timeline" else many(a)
    if a.json:
        json.dump(result, open(a.json, "w"))
