"""The PyTorch side of Kinema's CPU training-step benchmark (not run by CI).

One ActionCLIP training step as MMAction2's `ActionClip.loss` takes it, on CPU in fp32:
video features (CLIP image tower on B x 8 frames, then the TransformerAdapter), text
features of B prompts (open_clip tokenizer, full context length 77, as MMAction2 does),
both L2-normalised, `logit_scale.exp() * v @ t.T`, cross-entropy both ways with
loss_weight 0.5 each, backward, AdamW step (MMAction2's recipe: lr 5e-6, betas
(0.9, 0.98), eps 1e-8, weight_decay 0.2). Random weights of the real shapes.

Architectures: `ViT-B-32` (open_clip's OpenAI-compatible tower with QuickGELU, 6-block
adapter) or `tiny` (Kinema's demo model, projects/actionclip/configs/tiny_synthetic.toml:
32x32 frames, patch 8, 2 layers of width 64 in both towers, 1 text head, 2-block adapter).

What is timed: `--iters` steps after `--warmup` steps, each from zeroing the gradients to
the end of `optimizer.step()`; the input tensors exist before timing starts (no data
loading). Prints `PYTORCH_TRAIN_STEP arch=... batch=... median_s=... min_s=...
peak_rss_mb=...` (peak resident memory of this process, from getrusage).

Run: python tests/reference/bench_train_step.py --arch ViT-B-32 --batch 2 --threads 2
"""
import argparse
import os
import resource
import statistics
import sys
import time

import open_clip
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_actionclip import Adapter  # noqa: E402  (MMAction2's TransformerAdapter)

TINY = dict(embed_dim=64,
            vision_cfg=dict(image_size=32, layers=2, width=64, patch_size=8, head_width=64),
            text_cfg=dict(context_length=77, vocab_size=49408, width=64, heads=1, layers=2))


def build(arch):
    if arch == "tiny":
        clip = open_clip.model.CLIP(**TINY, quick_gelu=True)
        return clip, Adapter(t=8, width=64, layers=2, heads=1), 32
    clip = open_clip.create_model(arch, pretrained=None, force_quick_gelu=True)
    return clip, Adapter(), 224


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--arch", default="ViT-B-32")
    ap.add_argument("--batch", type=int, default=2)
    ap.add_argument("--frames", type=int, default=8)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--iters", type=int, default=5)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    clip, adapter, res = build(args.arch)
    clip.train()
    adapter.train()
    params = list(clip.parameters()) + list(adapter.parameters())
    opt = torch.optim.AdamW(params, lr=5e-6, betas=(0.9, 0.98), eps=1e-8, weight_decay=0.2)
    b, t = args.batch, args.frames
    x = torch.randn(b, t, 3, res, res)
    tokens = open_clip.tokenize([f"a video of class {i}" for i in range(b)])
    target = torch.arange(b)

    def step():
        opt.zero_grad(set_to_none=True)
        v = adapter(clip.encode_image(x.flatten(0, 1)).view(b, t, -1))
        w = clip.encode_text(tokens)
        v = v / v.norm(dim=-1, keepdim=True)
        w = w / w.norm(dim=-1, keepdim=True)
        logits = clip.logit_scale.exp() * v @ w.t()
        loss = 0.5 * F.cross_entropy(logits, target) + 0.5 * F.cross_entropy(logits.t(), target)
        loss.backward()
        opt.step()

    times = []
    for i in range(args.warmup + args.iters):
        start = time.perf_counter()
        step()
        if i >= args.warmup:
            times.append(time.perf_counter() - start)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"PYTORCH_TRAIN_STEP arch={args.arch} batch={b} median_s={statistics.median(times):.3f} "
          f"min_s={min(times):.3f} peak_rss_mb={rss_mb:.0f} threads={torch.get_num_threads()}")


if __name__ == "__main__":
    main()
