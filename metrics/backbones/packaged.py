"""Weights files that ship inside installed packages, located without importing those packages (so that
``vgbench weights list`` stays instant): torchmetrics' LPIPS heads."""
from __future__ import annotations

import importlib.util
from pathlib import Path


def _package_dir(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(f"{name} is not installed")
    return Path(list(spec.submodule_search_locations)[0])


def packaged_head_path_alex() -> Path:
    """torchmetrics' LPIPS v0.1 AlexNet linear heads (``functional/image/lpips_models/alex.pth``)."""
    return _package_dir("torchmetrics") / "functional" / "image" / "lpips_models" / "alex.pth"


def packaged_head_path_vgg() -> Path:
    """torchmetrics' LPIPS v0.1 VGG16 linear heads (``functional/image/lpips_models/vgg.pth``)."""
    return _package_dir("torchmetrics") / "functional" / "image" / "lpips_models" / "vgg.pth"


def hf_cached_bert_vocab() -> Path:
    """bert-base-uncased's ``vocab.txt`` where the Hugging Face cache already holds it (BLIP, Tag2Text and most BERT
    users download it); looked up offline."""
    from huggingface_hub import try_to_load_from_cache

    for repo in ("google-bert/bert-base-uncased", "bert-base-uncased"):
        found = try_to_load_from_cache(repo, "vocab.txt")
        if isinstance(found, str):
            return Path(found)
    raise ImportError("bert-base-uncased's vocab.txt is not in the Hugging Face cache")
