"""Makes an OpenAI-style TorchScript CLIP archive from the tiny ActionCLIP fixture.

OpenAI ships CLIP as TorchScript archives whose conv/linear/attention weights and the
`proj`/`text_projection` matrices are fp16 while LayerNorms, embeddings and
`logit_scale` stay fp32, plus 0-d int64 buffers `input_resolution`, `context_length`,
`vocab_size`. This script rebuilds the tiny fixture's CLIP with open_clip's
OpenAI-compatible model code, applies that dtype layout, traces it and saves it, so the
Rust loader can be tested on the real format without downloading OpenAI's files.

Run with the reference venv (torch 2.13, open_clip_torch 3.3.0), from the repo root:

    python tests/reference/make_clip_tiny_torchscript.py \
        [--checkpoint tests/fixtures/tiny/mmaction_clip_tiny.pth] \
        [--out tests/fixtures/tiny/clip_tiny_openai.pt]

Not run by CI; its output is committed.
"""
import argparse
import hashlib
import json

import torch
from open_clip.model import build_model_from_openai_state_dict, convert_weights_to_lp


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--checkpoint", default="tests/fixtures/tiny/mmaction_clip_tiny.pth")
    ap.add_argument("--out", default="tests/fixtures/tiny/clip_tiny_openai.pt")
    args = ap.parse_args()

    ckpt = torch.load(args.checkpoint, map_location="cpu", weights_only=False)
    sd = {k[len("clip."):]: v for k, v in ckpt["state_dict"].items() if k.startswith("clip.")}
    model = build_model_from_openai_state_dict(dict(sd), quick_gelu=True, cast_dtype=torch.float16)
    model.eval()
    convert_weights_to_lp(model, dtype=torch.float16)
    res = model.visual.image_size[0] if isinstance(model.visual.image_size, tuple) else model.visual.image_size
    # OpenAI's archives carry these three 0-d int64 buffers; open_clip keeps plain
    # attributes of the same names, so replace them.
    extras = {"input_resolution": res, "context_length": sd["positional_embedding"].shape[0],
              "vocab_size": sd["token_embedding.weight"].shape[0]}
    # OpenAI's causal mask is a plain attribute, not part of the state dict.
    if "attn_mask" in model._buffers:
        mask = model._buffers.pop("attn_mask")
        model.attn_mask = mask
    for name, value in extras.items():
        if hasattr(model, name):
            delattr(model, name)
        model.register_buffer(name, torch.tensor(value))

    image = torch.zeros(1, 3, res, res, dtype=torch.float16)
    text = torch.zeros(1, sd["positional_embedding"].shape[0], dtype=torch.long)
    text[0, 0], text[0, 1] = 49406, 49407
    traced = torch.jit.trace_module(
        model,
        {"encode_image": (image,), "encode_text": (text,)},
        check_trace=False,
    )
    torch.jit.save(traced, args.out)

    loaded = torch.jit.load(args.out, map_location="cpu").state_dict()
    layout = [[k, str(v.dtype).replace("torch.", ""), list(v.shape)] for k, v in loaded.items()]
    same = all(torch.equal(loaded[k].float(), sd[k].float()) for k in sd)
    print(json.dumps({"tensors": len(layout), "values_equal_fixture_clip": same,
                      "sha256": hashlib.sha256(open(args.out, "rb").read()).hexdigest()}))
    for row in layout[:12]:
        print(row)


if __name__ == "__main__":
    main()
