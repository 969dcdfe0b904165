"""Reference outputs of the original ActionCLIP's temporal fusions and its KL loss.

The original repository (sallymmx/ActionCLIP, modules/Visual_Prompt.py, utils/KLLoss.py)
defines `Transf` (CLIP-style blocks with a TF-style LayerNorm, eps 1e-12), `Conv_1D`
(a depthwise shift convolution applied to a *view* of the features), `LSTM`,
`Transf_cls` (torch's TransformerEncoder over a class token) and a KL loss to
`softmax(10 * same_class)`. This script re-states those semantics with PyTorch's own
layers (nn.MultiheadAttention, nn.LSTM, nn.Conv1d, nn.TransformerEncoder,
nn.KLDivLoss), randomises the weights, and saves weights (named as in a converted
checkpoint, `adapter.*`), inputs and eval-mode outputs, so the Rust adapters can be
checked against PyTorch.

Run from the repo root with the reference venv:
    python tests/reference/make_actionclip_adapter_fixtures.py
Writes tests/fixtures/tiny/original_adapters.safetensors and original_kl_loss.json.
"""
import json
from collections import OrderedDict

import torch
import torch.nn.functional as F
from safetensors.torch import save_file
from torch import nn

D, T, B, TEXT_WIDTH = 32, 8, 2, 64


class TfLayerNorm(nn.Module):
    def __init__(self, d, eps=1e-12):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        self.bias = nn.Parameter(torch.zeros(d))
        self.eps = eps

    def forward(self, x):
        mu = x.mean(-1, keepdim=True)
        var = (x - mu).pow(2).mean(-1, keepdim=True)
        return self.weight * ((x - mu) / torch.sqrt(var + self.eps)) + self.bias


class Block(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.attn = nn.MultiheadAttention(d, heads)
        self.ln_1 = TfLayerNorm(d)
        self.mlp = nn.Sequential(OrderedDict(c_fc=nn.Linear(d, 4 * d), gelu=nn.Identity(), c_proj=nn.Linear(4 * d, d)))
        self.ln_2 = TfLayerNorm(d)

    def forward(self, x):
        y = self.ln_1(x)
        x = x + self.attn(y, y, y, need_weights=False)[0]
        h = self.mlp.c_fc(self.ln_2(x))
        h = h * torch.sigmoid(1.702 * h)
        return x + self.mlp.c_proj(h)


class Transf(nn.Module):
    def __init__(self, layers=2):
        super().__init__()
        self.frame_position_embeddings = nn.Embedding(T, D)
        self.transformer = nn.Module()
        self.transformer.resblocks = nn.Sequential(*[Block(D, TEXT_WIDTH // 64) for _ in range(layers)])

    def forward(self, x):
        h = x + self.frame_position_embeddings.weight[: x.shape[1]].unsqueeze(0)
        h = self.transformer.resblocks(h.transpose(0, 1)).transpose(0, 1)
        return (h + x).mean(1)


class Conv1D(nn.Module):
    def __init__(self):
        super().__init__()
        self.shift = nn.Conv1d(D, D, 3, padding=1, groups=D, bias=False)

    def forward(self, x):
        b, t, c = x.shape
        h = self.shift(x.contiguous().view(-1, c, t)).permute(0, 2, 1)
        return (h + x).mean(1)


class LSTM(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm_visual = nn.LSTM(D, D, batch_first=True, num_layers=1)

    def forward(self, x):
        h, _ = self.lstm_visual(x)
        return (h + x).mean(1)


class TransfCls(nn.Module):
    def __init__(self, layers=2):
        super().__init__()
        self.transformer = nn.Module()
        layer = nn.TransformerEncoderLayer(d_model=D, nhead=8)
        self.transformer.transformer_enc = nn.TransformerEncoder(layer, num_layers=layers, norm=nn.LayerNorm(D),
                                                                 enable_nested_tensor=False)
        self.transformer.cls_token = nn.Parameter(torch.zeros(1, 1, D))
        self.transformer.pos_embed = nn.Parameter(torch.zeros(1, T + 1, D))

    def forward(self, x):
        cls = self.transformer.cls_token.expand(x.shape[0], -1, -1)
        h = torch.cat([cls, x], 1) + self.transformer.pos_embed
        return self.transformer.transformer_enc(h.transpose(0, 1))[0]


def randomise(module):
    with torch.no_grad():
        for p in module.parameters():
            p.copy_(torch.randn_like(p) * 0.2)


def main():
    torch.manual_seed(0)
    x = torch.randn(B, T, D)
    out = {"input": x}
    for name, module in [("Transf", Transf()), ("Conv_1D", Conv1D()), ("LSTM", LSTM()), ("Transf_cls", TransfCls())]:
        randomise(module)
        module.eval()
        with torch.no_grad():
            y = module(x)
        out[f"output.{name}"] = y
        for k, v in module.state_dict().items():
            out[f"{name}/adapter.{k}"] = v.contiguous()
    save_file(out, "tests/fixtures/tiny/original_adapters.safetensors")

    # KL loss of the original (KLDivLoss 'mean' times batch size, targets softmax(10 * gt)).
    logits = torch.tensor([[3.0, 1.0, -2.0, 0.5], [0.2, 2.5, 0.1, -1.0], [1.5, -0.5, 2.0, 0.0], [0.0, 0.3, -0.7, 1.2]])
    labels = torch.tensor([4, 7, 4, 9])
    gt = (labels[:, None] == labels[None, :]).float()
    kl = nn.KLDivLoss(reduction="mean")

    def direction(pred):
        return kl(F.log_softmax(pred, 1), F.softmax(gt * 10, 1)) * pred.shape[0]

    v2t, t2v = direction(logits), direction(logits.t())
    json.dump({"logits": logits.tolist(), "labels": labels.tolist(), "v2t": v2t.item(), "t2v": t2v.item(),
               "total": ((v2t + t2v) / 2).item(), "note": "total = (v2t + t2v) / 2 as the original train.py"},
              open("tests/fixtures/tiny/original_kl_loss.json", "w"), indent=1)
    print({k: tuple(v.shape) for k, v in out.items() if k.startswith("output")}, v2t.item(), t2v.item())


if __name__ == "__main__":
    main()
