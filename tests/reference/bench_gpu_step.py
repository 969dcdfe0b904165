"""PyTorch side of `tools/device_check.sh` (GPU only; not run by CI).

ViT-B/16 ActionCLIP (open_clip's OpenAI-compatible ViT-B-16 with QuickGELU, random weights,
plus MMAction2's 6-block adapter), 8 frames of 224x224, batch 16 clips on one GPU:
* train: forward of video and text (16 prompts of 77 tokens), MMAction2's symmetric
  cross-entropy loss over the batch, backward, AdamW step; samples/s over 20 iterations
  after 5 warm-up ones;
* infer: video features for a batch, no_grad; clips/s the same way.
For each of fp32, fp16 (autocast + GradScaler) and bf16 (autocast). Prints one line each:
`PYTORCH_GPU dtype=... train_samples_per_s=... infer_clips_per_s=...`.
"""
import os
import sys
import time

import open_clip
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_actionclip import Adapter  # noqa: E402  (MMAction2's TransformerAdapter)


def bench(dtype, batch=16, frames=8, warm=5, iters=20):
    torch.manual_seed(0)
    clip = open_clip.create_model("ViT-B-16", pretrained=None, force_quick_gelu=True).cuda()
    adapter = Adapter().cuda()
    params = list(clip.parameters()) + list(adapter.parameters())
    opt = torch.optim.AdamW(params, lr=5e-6, betas=(0.9, 0.98), eps=1e-8, weight_decay=0.2)
    scaler = torch.amp.GradScaler("cuda", enabled=dtype == torch.float16)
    x = torch.randn(batch, frames, 3, 224, 224, device="cuda")
    tokens = open_clip.tokenize([f"a video of class {i}" for i in range(batch)]).cuda()
    target = torch.arange(batch, device="cuda")
    autocast = dtype != torch.float32

    def step():
        with torch.autocast("cuda", dtype=dtype, enabled=autocast):
            v = adapter(clip.encode_image(x.flatten(0, 1)).view(batch, frames, -1))
            t = clip.encode_text(tokens)
            v = v / v.norm(dim=-1, keepdim=True)
            t = t / t.norm(dim=-1, keepdim=True)
            logits = clip.logit_scale.exp() * v @ t.t()
            loss = 0.5 * (torch.nn.functional.cross_entropy(logits, target)
                          + torch.nn.functional.cross_entropy(logits.t(), target))
        opt.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()

    def infer():
        with torch.no_grad(), torch.autocast("cuda", dtype=dtype, enabled=autocast):
            adapter(clip.encode_image(x.flatten(0, 1)).view(batch, frames, -1))

    rates = []
    for fn in (step, infer):
        for _ in range(warm):
            fn()
        torch.cuda.synchronize()
        t = time.perf_counter()
        for _ in range(iters):
            fn()
        torch.cuda.synchronize()
        rates.append(batch * iters / (time.perf_counter() - t))
    return rates


if __name__ == "__main__":
    for name, dtype in (("fp32", torch.float32), ("fp16", torch.float16), ("bf16", torch.bfloat16)):
        train, infer = bench(dtype)
        print(f"PYTORCH_GPU dtype={name} train_samples_per_s={train:.1f} infer_clips_per_s={infer:.1f}")
