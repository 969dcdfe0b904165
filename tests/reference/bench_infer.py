"""Zero-shot inference end to end in PyTorch, the reference for `tools/infer` (not run by CI).

What MMAction2's ActionClip does for one video, in one process, timed from interpreter
start to printed answer: import torch/open_clip/decord/mmcv, load an MMAction2-format
ActionCLIP ViT-B/32 checkpoint (`clip.*` + `adapter.*`), decode the video with decord,
MMAction2's test pipeline (SampleFrames 8 test mode, Resize(-1, 256), CenterCrop(224), as
in bench_pipeline.py), normalise with CLIP's mean/std, encode the 8 frames, the adapter
(6 CLIP blocks + frame positions, residual, mean), tokenize every `template x label` prompt
and encode it at the full context length 77 (as `ActionClip.predict` does: no truncation,
no cache), softmax(100 * v . t) averaged over templates. open_clip's ViT-B-32 with QuickGELU
is OpenAI's CLIP module for module, so the kernels are the ones MMAction2 runs.

    python tests/reference/bench_infer.py make CKPT            # random weights, seed 0
    python tests/reference/bench_infer.py run CKPT VIDEO LABELS TEMPLATE [--json OUT]

`projects/actionclip/tools/bench.sh` runs both this and `tools/infer` on the same files and compares scores.
"""
import time

T0 = time.perf_counter()

import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402

import open_clip  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_pipeline as pipe  # noqa: E402
from bench_actionclip import Adapter  # noqa: E402  (MMAction2's TransformerAdapter)

MEAN = torch.tensor([122.771, 116.746, 104.093]).view(1, 3, 1, 1)
STD = torch.tensor([68.500, 66.632, 70.323]).view(1, 3, 1, 1)


def build(seed=None):
    if seed is not None:
        torch.manual_seed(seed)
    clip = open_clip.create_model("ViT-B-32", pretrained=None, force_quick_gelu=True).eval()
    adapter = Adapter().eval()
    return clip, adapter


def make(path):
    clip, adapter = build(seed=0)
    sd = {f"clip.{k}": v for k, v in clip.state_dict().items()}
    sd.update({f"adapter.{k}": v for k, v in adapter.state_dict().items()})
    torch.save({"meta": {"note": "random ViT-B/32 ActionCLIP, seed 0"}, "state_dict": sd}, path)
    print(f"wrote {path}: {len(sd)} tensors")


def load(ckpt):
    """CLIP and the adapter with the weights of an MMAction2-format checkpoint."""
    clip, adapter = build()
    sd = torch.load(ckpt, map_location="cpu")["state_dict"]
    clip.load_state_dict({k[5:]: v for k, v in sd.items() if k.startswith("clip.")})
    adapter.load_state_dict({k[8:]: v for k, v in sd.items() if k.startswith("adapter.")})
    return clip, adapter


def run(ckpt, video, labels_file, template, json_out=None):
    clip, adapter = load(ckpt)
    labels = [line.strip() for line in open(labels_file) if line.strip()]
    with torch.no_grad():
        frames = pipe.test_pipeline(video)  # uint8 [8, 3, 224, 224]
        x = (frames.float() - MEAN) / STD
        v = adapter(clip.encode_image(x).unsqueeze(0))
        v = v / v.norm(dim=-1, keepdim=True)
        tokens = open_clip.tokenize([template.format(c) for c in labels])  # [C, 77]
        t = clip.encode_text(tokens)
        t = t / t.norm(dim=-1, keepdim=True)
        scores = ((100.0 * v) @ t.T).softmax(dim=-1)[0]
    top = scores.topk(5)
    for s, i in zip(top.values.tolist(), top.indices.tolist()):
        print(f"{labels[i]:<30} {s:.6f}")
    print(f"PYTHON_INFER_S {time.perf_counter() - T0:.2f} (from interpreter start)")
    if json_out:
        json.dump({"labels": labels, "scores": scores.tolist()}, open(json_out, "w"))


if __name__ == "__main__":
    torch.set_num_threads(int(os.environ.get("BENCH_THREADS", os.cpu_count())))
    if sys.argv[1] == "make":
        make(sys.argv[2])
    else:
        out = sys.argv[sys.argv.index("--json") + 1] if "--json" in sys.argv else None
        run(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], out)
