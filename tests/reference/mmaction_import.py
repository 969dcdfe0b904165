"""Imports MMAction2 1.2.0's model and transform modules for the reference scripts.

MMAction2 comes from ``$MMACTION2_SRC`` when set (an export of the v1.2.0 tree, commit
4d6c93474730cad2f25e51109adcf96824efc7a3), else from the installed PyPI package
(``pip install --no-deps mmaction2==1.2.0``). Nothing of it is copied or changed.

The package ``__init__`` files of ``mmaction.models`` (imports every backbone; swin.py
needs ``einops``) and ``mmaction.datasets`` (needs ``scipy``) fail without those extras,
so empty package modules with the right ``__path__`` stand in for them and the real
modules are imported one by one; they register themselves in MMAction2's registries as
usual.
"""
import importlib
import os
import sys
import types

MODULES = [
    "mmaction.models.backbones.resnet", "mmaction.models.backbones.resnet_tsm",
    "mmaction.models.heads.base", "mmaction.models.heads.tsn_head", "mmaction.models.heads.tsm_head",
    "mmaction.models.recognizers.base", "mmaction.models.recognizers.recognizer2d",
    "mmaction.models.data_preprocessors.data_preprocessor", "mmaction.models.losses.base",
    "mmaction.models.losses.cross_entropy_loss", "mmaction.datasets.transforms.loading",
    "mmaction.datasets.transforms.processing", "mmaction.datasets.transforms.formatting",
    "mmaction.engine.optimizers.tsm_optim_wrapper_constructor",
]
PACKAGES = ["mmaction.models", "mmaction.models.backbones", "mmaction.models.heads",
            "mmaction.models.recognizers", "mmaction.models.data_preprocessors", "mmaction.models.losses",
            "mmaction.datasets", "mmaction.datasets.transforms"]


def _bare_package(name):
    import mmaction
    path = os.path.join(os.path.dirname(mmaction.__file__), *name.split(".")[1:])
    mod = types.ModuleType(name)
    mod.__path__ = [path]
    mod.__package__ = name
    sys.modules[name] = mod
    parent, _, child = name.rpartition(".")
    setattr(sys.modules[parent], child, mod)


def import_mmaction():
    """The imported modules by their last name (``resnet``, ``tsn_head``, ...)."""
    src = os.environ.get("MMACTION2_SRC")
    if src:
        if not os.path.isdir(os.path.join(src, "mmaction")):
            sys.exit(f"MMACTION2_SRC={src} has no mmaction/ (export MMAction2 v1.2.0 there)")
        sys.path.insert(0, src)
    try:
        import mmaction  # noqa: F401  (its own __init__ works: version checks only)
    except ImportError:
        sys.exit("MMAction2 is not importable: set MMACTION2_SRC or `pip install --no-deps mmaction2==1.2.0`")
    for pkg in PACKAGES:
        _bare_package(pkg)
    return {m.rsplit(".", 1)[1]: importlib.import_module(m) for m in MODULES}
