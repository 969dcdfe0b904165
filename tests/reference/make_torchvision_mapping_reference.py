#!/usr/bin/env python3
"""What MMAction2 1.2.0 makes of a torchvision ResNet-50 state dict given as `pretrained`:
`ResNet(depth=50, pretrained=FILE)` (`_load_torchvision_checkpoint`) and
`ResNetTSM(depth=50, pretrained=FILE)` (`load_original_weights`), after `init_weights()`.

Not run by CI. Writes ``tests/fixtures/recognition/torchvision_mapping_reference.json``:
for each backbone, every state-dict entry's name, shape, dtype and the sum of its values
(float64), which Kinema's test compares after loading the same file.

The torchvision file is ``torchvision.models.resnet50()``'s state dict (names, shapes,
dtypes) with deterministic values: names sorted with Python ``sorted()``, entry k; float
entries ``x_j`` (see make_tsn_tsm_reference.py: ``2 * frac((j + 1) * C1 + (k + 1) * C2) - 1``
in float64, cast to float32), ``num_batches_tracked`` = 7. The model is built with
``torch.manual_seed(0)``; entries the file does not fill keep their initialisation, so
only loaded entries (and the untouched ``num_batches_tracked`` of TSM) are compared.

Run from the repository root with MMAction2 1.2.0 importable (see mmaction_import.py):

    /root/.cache/kinema/reference-venv/bin/python tests/reference/make_torchvision_mapping_reference.py
"""

import json
import os
import sys
import tempfile

import numpy as np
import torch
import torchvision

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_tsn_tsm_reference as ref  # noqa: E402  (imports mmaction2 the same way)

OUT = os.path.join("tests", "fixtures", "recognition", "torchvision_mapping_reference.json")


def torchvision_file(path):
    sd = torchvision.models.resnet50().state_dict()
    out = {}
    for k, name in enumerate(sorted(sd)):
        t = sd[name]
        if t.dtype == torch.int64:
            out[name] = torch.tensor(7, dtype=torch.int64)
            continue
        n = t.numel()
        j = np.arange(n, dtype=np.float64)
        s = (j + 1) * ref.C1 + (k + 1) * ref.C2
        x = 2.0 * (s - np.floor(s)) - 1.0
        out[name] = torch.from_numpy(x.astype(np.float32)).view(t.shape)
    torch.save(out, path)
    return out


def entries(model):
    return [{"name": k, "shape": list(v.shape), "dtype": str(v.dtype).replace("torch.", ""),
             "sum": float(v.double().sum())} for k, v in model.state_dict().items()]


def main():
    ref.init_default_scope("mmaction")
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "resnet50_torchvision.pth")
        tv = torchvision_file(path)
        result = {"versions": {"torch": torch.__version__, "torchvision": torchvision.__version__,
                               "mmaction2": ref.mmaction.__version__},
                  "torchvision_entries": [{"name": k, "shape": list(v.shape)} for k, v in tv.items()],
                  "num_batches_tracked_value": 7}
        for key, cfg in [("ResNet", dict(type="ResNet", depth=50, pretrained=path)),
                         ("ResNetTSM", dict(type="ResNetTSM", depth=50, pretrained=path, num_segments=8))]:
            torch.manual_seed(0)
            model = ref.MODELS.build(cfg)
            model.init_weights()
            result[key] = entries(model)
    with open(OUT, "w") as f:
        json.dump(result, f, indent=1)
    print("wrote", OUT)


if __name__ == "__main__":
    main()
