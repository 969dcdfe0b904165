"""PyTorch side of the ActionCLIP model timings (`projects/actionclip/tools/bench.sh` runs it next to Kinema's
`projects/actionclip/tests/bench.rs`; not run by CI).

What is timed, fp32, no_grad, random weights of the real shapes, `--threads` threads:
* encode_video: open_clip's OpenAI-compatible ViT (QuickGELU) on 8 frames of 224x224 plus
  MMAction2's adapter (6 CLIP blocks of width 512, 8 heads, position table, residual,
  mean); the same input as the Rust side; median of `--runs` after 2 warm-up runs;
* encode_text: the `--classes` K400 labels x `--templates` ActionCLIP templates at the full
  context length 77, as `ActionClip.predict` encodes them (once; MMAction2 does this again
  on every predict call).

    python tests/reference/bench_actionclip.py [--arch ViT-B-32] [--runs 10] [--threads N]
        [--classes 400] [--templates 16] [--labels tests/fixtures/text/label_map_k400.txt]
"""
import argparse
import os
import statistics
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


TEMPLATES = [
    "a photo of action {}", "a picture of action {}", "Human action of {}", "{}, an action",
    "{} this is an action", "{}, a video of action", "Playing action of {}", "{}",
    "Playing a kind of action, {}", "Doing a kind of action, {}", "Look, the human is {}",
    "Can you recognize the action of {}?", "Video classification of {}", "A video of {}",
    "The man is {}", "The woman is {}",
]


def torch_time(arch, runs):
    torch.manual_seed(0)
    model = open_clip.create_model(arch, pretrained=None, force_quick_gelu=True).eval()
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
    return model, statistics.median(times), min(times)


def text_time(model, labels, templates):
    prompts = [t.format(c) for t in templates for c in labels]
    with torch.no_grad():
        t = time.perf_counter()
        f = model.encode_text(open_clip.tokenize(prompts))
        s = time.perf_counter() - t
    assert f.shape == (len(prompts), 512)
    return len(prompts), s


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--arch", default="ViT-B-32")
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--classes", type=int, default=400)
    ap.add_argument("--templates", type=int, default=16)
    ap.add_argument("--labels", default="tests/fixtures/text/label_map_k400.txt")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    model, med, best = torch_time(args.arch, args.runs)
    print(f"PYTORCH_ENCODE_VIDEO_MS arch={args.arch} median={med:.1f} min={best:.1f} "
          f"threads={torch.get_num_threads()} torch={torch.__version__}")
    if args.classes > 0:
        labels = [line.strip() for line in open(args.labels) if line.strip()][: args.classes]
        n, s = text_time(model, labels, TEMPLATES[: args.templates])
        print(f"PYTORCH_TEXT_FEATURES prompts={n} full_s={s:.3f}")


if __name__ == "__main__":
    main()
