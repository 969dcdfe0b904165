"""ViT-B/32 8-frame ActionCLIP `encode_video` timing, PyTorch next to Kinema, in one run.

PyTorch side: open_clip's OpenAI-compatible ViT-B/32 (QuickGELU) with random weights
plus MMAction2's adapter (6 CLIP blocks of width 512, 8 heads, position table, residual,
mean), fp32, no_grad, the same input and thread count as the Rust side. Rust side: the
ignored tests in projects/actionclip/tests/bench.rs, run through cargo (dev profile: dependencies,
libtorch included, are fully optimised).

Run from the repo root with the reference venv (and cargo on PATH):
    python tests/reference/bench_actionclip.py [--runs 10] [--threads N] [--classes 400]
"""
import argparse
import os
import re
import statistics
import subprocess
import time

import torch
import open_clip
from open_clip.transformer import Transformer


class Adapter(torch.nn.Module):
    def __init__(self, t=8, width=512, layers=6, heads=8):
        super().__init__()
        self.frame_position_embeddings = torch.nn.Embedding(t, width)
        self.transformer = Transformer(width, layers, heads, act_layer=open_clip.model.QuickGELU)

    def forward(self, x):
        h = x + self.frame_position_embeddings.weight[: x.shape[1]].unsqueeze(0)
        return (self.transformer(h) + x).mean(1)


def torch_time(runs):
    torch.manual_seed(0)
    model = open_clip.create_model("ViT-B-32", pretrained=None, force_quick_gelu=True).eval()
    adapter = Adapter().eval()
    n = 8 * 3 * 224 * 224
    x = (torch.arange(n, dtype=torch.float32) * 0.37).sin().mul(1.5).view(1, 8, 3, 224, 224)
    times = []
    with torch.no_grad():
        for i in range(runs + 2):
            t = time.perf_counter()
            f = model.encode_image(x.view(8, 3, 224, 224)).view(1, 8, -1)
            y = adapter(f)
            if i >= 2:
                times.append((time.perf_counter() - t) * 1e3)
    assert y.shape == (1, 512)
    return statistics.median(times), min(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--classes", type=int, default=400)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    med, best = torch_time(args.runs)
    print(f"PYTORCH_ENCODE_VIDEO_MS median={med:.1f} min={best:.1f} threads={torch.get_num_threads()} torch={torch.__version__}")
    env = dict(os.environ, KINEMA_BENCH_RUNS=str(args.runs), KINEMA_BENCH_CLASSES=str(args.classes))
    out = subprocess.run(
        ["cargo", "test", "-p", "actionclip", "--test", "bench", "--", "--ignored", "--nocapture",
         "--test-threads", "1"], env=env, capture_output=True, text=True)
    lines = [l for l in out.stdout.splitlines() if l.startswith("RUST_")]
    print("\n".join(lines) if lines else out.stdout + out.stderr)


if __name__ == "__main__":
    main()
