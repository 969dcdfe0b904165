"""Full-size random-weight CLIP checkpoints and their outputs, for the Rust loader test.

For ViT-B/32 and ViT-B/16 this builds open_clip's OpenAI-compatible model (QuickGELU,
OpenAI's key names) with random weights (seed 0), applies OpenAI's release dtype layout
(fp16 conv/linear/attention/projection weights, fp32 rest), traces and saves it as a
TorchScript archive exactly like OpenAI's `ViT-B-32.pt`, and records the image and text
features of fixed inputs computed in fp32 from those (fp16-rounded) weights.

The archives are large (about 300 MB each) and are NOT committed: they go to
$KINEMA_FULLSIZE_DIR (default ~/.cache/kinema/fullsize). The small expected outputs are
committed under tests/fixtures/fullsize/. The Rust test
(projects/actionclip/tests/fullsize_clip.rs) skips when the archives are absent.

Inputs, reproduced bit-for-bit by the Rust test with libtorch:
  images[i] = sin(0.37 * i) * 1.5 over arange(2*3*224*224) viewed [2, 3, 224, 224]
  tokens    = the case1 prompts of the tiny fixture ("The woman is singing", ...)

Run from the repo root with the reference venv:
    python tests/reference/make_fullsize_clip_reference.py
"""
import json
import os

import numpy as np
import torch
import open_clip
from open_clip.model import convert_weights_to_lp

OUT = os.environ.get("KINEMA_FULLSIZE_DIR", os.path.expanduser("~/.cache/kinema/fullsize"))
ARCHS = {"ViT-B-32": "ViT-B/32", "ViT-B-16": "ViT-B/16"}


def inputs():
    n = 2 * 3 * 224 * 224
    images = (torch.arange(n, dtype=torch.float32) * 0.37).sin().mul(1.5).view(2, 3, 224, 224)
    tokens = torch.from_numpy(np.load("tests/fixtures/tiny/case1_tokens.npy")).long()
    return images, tokens


def main():
    os.makedirs(OUT, exist_ok=True)
    os.makedirs("tests/fixtures/fullsize", exist_ok=True)
    images, tokens = inputs()
    for oc_name, oa_name in ARCHS.items():
        torch.manual_seed(0)
        model = open_clip.create_model(oc_name, pretrained=None, force_quick_gelu=True)
        model.eval()
        convert_weights_to_lp(model, dtype=torch.float16)
        for name, value in {"input_resolution": 224, "context_length": 77, "vocab_size": 49408}.items():
            if hasattr(model, name):
                delattr(model, name)
            model.register_buffer(name, torch.tensor(value))
        if "attn_mask" in model._buffers:
            model.attn_mask = model._buffers.pop("attn_mask")
        traced = torch.jit.trace_module(
            model, {"encode_image": (images[:1].half(),), "encode_text": (tokens[:1],)}, check_trace=False)
        path = os.path.join(OUT, f"{oc_name}.pt")
        torch.jit.save(traced, path)
        # Reference outputs in fp32 from the fp16-rounded weights.
        model.float()
        with torch.no_grad():
            img = model.encode_image(images)
            txt = model.encode_text(tokens)
        params = sum(p.numel() for k, p in model.state_dict().items()
                     if k not in ("input_resolution", "context_length", "vocab_size"))
        json.dump({"arch": oa_name, "archive": f"{oc_name}.pt", "parameters": params,
                   "image_features": img.tolist(), "text_features": txt.tolist()},
                  open(f"tests/fixtures/fullsize/{oc_name}.json", "w"))
        print(oc_name, path, params, img.shape, txt.shape)


if __name__ == "__main__":
    main()
