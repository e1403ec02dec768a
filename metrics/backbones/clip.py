"""OpenAI CLIP through open_clip: architecture, official weights, tokenisation variants.

The architectures are open_clip's (``ViT-B-32``, ``ViT-L-14`` with QuickGELU, as OpenAI trained them). Weights are the
official OpenAI files (``ViT-B-32.pt``, ``ViT-L-14.pt``: TorchScript archives whose URL carries their SHA-256) or
open_clip's re-export of the same weights (``open_clip_model.safetensors``/``open_clip_pytorch_model.bin`` from
``timm/vit_*_clip_224.openai`` on Hugging Face). Both are loaded into the same module with ``strict=True``: an
OpenAI archive only after its SHA-256 was verified, and only its tensors are kept.

Tokenisation differs between the reference implementations when a prompt is longer than the context (77 tokens):

* ``force_eot=True`` (open_clip, OpenAI ``clip.tokenize(truncate=True)``, HF tokenizers with ``truncation=True``
  as EvalCrafter calls them): cut to 77 tokens and make the last one ``<|endoftext|>``.
* ``force_eot=False`` (torchmetrics ``clip_score``: it slices ``input_ids[..., :77]`` after tokenising without
  truncation): the end token is cut off and the pooled feature is taken at the largest token id, as HF CLIP does.
"""
from __future__ import annotations

import logging
import zipfile
from dataclasses import dataclass
from pathlib import Path

import torch

CONTEXT_LENGTH = 77

#: backbone name → open_clip architecture
ARCHITECTURES = {"clip_vit_b32_openai": "ViT-B-32", "clip_vit_l14_openai": "ViT-L-14"}

#: keys of an OpenAI TorchScript archive that are attributes, not weights of the open_clip module
_JIT_EXTRA_KEYS = ("input_resolution", "context_length", "vocab_size")


def build_clip(arch: str, seed: int = 0, device: str | None = None):
    """open_clip ``arch`` with QuickGELU (OpenAI's activation), seeded random init, eval mode."""
    from vgbench.bench import _torchvision_compat  # noqa: F401  (open_clip imports torchvision)
    import open_clip

    torch.manual_seed(seed)
    log = logging.getLogger()
    level = log.level
    log.setLevel(logging.ERROR)  # open_clip warns "initialized randomly": the weights are loaded next, verified
    try:
        with torch.device(device or "cpu"):
            model = open_clip.create_model(arch, pretrained=None, force_quick_gelu=True)
    finally:
        log.setLevel(level)
    return model.eval()


def clip_b32(seed: int = 0):
    return build_clip("ViT-B-32", seed)


def clip_l14(seed: int = 0):
    return build_clip("ViT-L-14", seed)


def is_torchscript_archive(path: str | Path) -> bool:
    """An OpenAI ``.pt`` file is a zip holding ``*/constants.pkl`` (TorchScript); a state_dict zip has none."""
    try:
        with zipfile.ZipFile(path) as z:
            return any(n.endswith("constants.pkl") for n in z.namelist())
    except zipfile.BadZipFile:
        return False


def openai_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """Tensors of a verified OpenAI TorchScript archive, in open_clip's key names (they are the same names)."""
    module = torch.jit.load(str(path), map_location="cpu")
    sd = {k: v for k, v in module.state_dict().items() if k not in _JIT_EXTRA_KEYS}
    return {k: v.float() if v.is_floating_point() else v for k, v in sd.items()}  # the archives hold fp16


def load_clip(model, path: str | Path | None, source: str):
    """Official OpenAI archive or open_clip state_dict/safetensors → ``model`` (strict)."""
    from vgbench.metrics.backbones.checkpoint import load_strict, read_state_dict, unwrap_state_dict

    if path is None:
        return model
    if is_torchscript_archive(path):
        sd = openai_state_dict(path)
    else:
        sd = unwrap_state_dict(read_state_dict(path), wrapper_keys=("state_dict",))
    load_strict(model, sd, source, optional=("num_batches_tracked", "attn_mask"))
    return model


# ---- text ---------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Tokenized:
    """Token ids ``[1, context]`` and what truncation did. ``n_tokens`` counts start and end tokens."""

    ids: torch.Tensor
    n_tokens: int
    truncated: bool
    eot_kept: bool


_TOKENIZER = None


def _tokenizer():
    global _TOKENIZER
    if _TOKENIZER is None:
        from open_clip.tokenizer import SimpleTokenizer

        _TOKENIZER = SimpleTokenizer()  # packaged BPE vocabulary: works offline
    return _TOKENIZER


def tokenize(text: str, context_length: int = CONTEXT_LENGTH, force_eot: bool = True) -> Tokenized:
    """CLIP BPE tokens of ``text`` (lower-cased, ftfy/whitespace-cleaned) with ``<|startoftext|>`` … ``<|endoftext|>``,
    zero-padded to ``context_length``. See the module docstring for ``force_eot``."""
    tok = _tokenizer()
    sot, eot = tok.sot_token_id, tok.eot_token_id  # 49406, 49407 (open_clip names them <start_of_text> ...)
    tokens = [sot] + tok.encode(text) + [eot]
    n = len(tokens)
    truncated = n > context_length
    if truncated:
        tokens = tokens[:context_length]
        if force_eot:
            tokens[-1] = eot
    ids = torch.zeros(1, context_length, dtype=torch.long)
    ids[0, :len(tokens)] = torch.tensor(tokens)
    return Tokenized(ids, n, truncated, eot_kept=tokens[-1] == eot or not truncated)


@torch.no_grad()
def encode_text(model, tokens: torch.Tensor) -> torch.Tensor:
    """Text embedding ``[B, D]`` (not normalised); pooled at ``argmax(ids)`` as OpenAI/open_clip/HF CLIP do."""
    device = next(model.parameters()).device
    return model.encode_text(tokens.to(device)).float()


@torch.no_grad()
def encode_images(model, pixels: torch.Tensor) -> torch.Tensor:
    """Image embeddings ``[B, D]`` (not normalised) of preprocessed pixels ``[B, 3, 224, 224]``."""
    device = next(model.parameters()).device
    return model.encode_image(pixels.to(device)).float()
