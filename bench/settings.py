"""Every environment variable vgbench reads, in one place.

Values are read when asked for (not at import), so a test or a user may set them at any time before the call. No
other module reads a ``VGBENCH_*`` variable (a test checks this).
"""
from __future__ import annotations

import os
from pathlib import Path

#: name → what it does (the CLI's ``--help`` lists these).
VARIABLES: dict[str, str] = {
    "VGBENCH_CACHE": "vgbench's cache folder (weights and their lock file); default $XDG_CACHE_HOME/vgbench or "
                     "~/.cache/vgbench",
    "VGBENCH_WEIGHTS_LOCK": "the weights lock file (hashes recorded on first use); default CACHE/weights/"
                            "weights.lock.json",
    "VGBENCH_WEIGHTS_<NAME>": "path of one weights file, NAME as in `vgbench weights list`, upper-case",
    "VGBENCH_OFFLINE": "1: never download (HF_HUB_OFFLINE=1 means the same)",
    "VGBENCH_ALLOW_RANDOM_WEIGHTS": "1: run backbones whose weights are missing on a seeded random initialisation "
                                    "(development only; every result is flagged)",
    "VGBENCH_PROGRESS_INTERVAL": "seconds between plain progress lines when stderr is not a terminal (CI, Slurm "
                                 "logs); default 30, 0 = every item",
    "VGBENCH_DEVICE": "cpu, cuda or cuda:N for the metrics' networks; default cuda when a GPU is visible",
    "VGBENCH_DECODED_MB": "most decoded frames (MB) the local executor keeps waiting to be scored; default 2048 (one "
                          "video larger than that is still decoded, alone)",
    "VGBENCH_FFMPEG": "an ffmpeg binary with libvmaf for VMAF; default imageio-ffmpeg's",
    "VGBENCH_OWLV2": "local Hugging Face folder of the OWLv2 detector (VBench object/colour/spatial dimensions)",
    "VGBENCH_BLIP": "local Hugging Face folder of the BLIP captioner (scene@captioner=blip, the substitute; the default "
                    "scene captioner is Tag2Text)",
    "VGBENCH_BLIP_ITM": "local Hugging Face folder of BLIP image-text retrieval (blip_score/itc, blip_score/itm; "
                        "Salesforce/blip-itm-base-coco)",
    "VGBENCH_BLIP2": "local Hugging Face folder of BLIP-2 (blip_score/evalcrafter-bleu; Salesforce/blip2-opt-2.7b)",
    "VGBENCH_MAX_INPUT_MB": "largest suite, manifest or config file vgbench reads, in MB; default 64",
}

_TRUE = ("1", "true", "yes", "on")


def get(name: str) -> str | None:
    """The variable's value, or None when it is unset or empty."""
    return os.environ.get(name) or None


def flag(*names: str) -> bool:
    """Whether any of ``names`` is set to 1/true/yes/on."""
    return any((os.environ.get(n) or "").strip().lower() in _TRUE for n in names)


def _xdg_cache() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")


def cache_root() -> Path:
    """``$VGBENCH_CACHE``, else ``$XDG_CACHE_HOME/vgbench``, else ``~/.cache/vgbench``."""
    return Path(get("VGBENCH_CACHE") or _xdg_cache() / "vgbench").expanduser()


def weights_lock(default: Path) -> Path:
    return Path(get("VGBENCH_WEIGHTS_LOCK") or default).expanduser()


def weights_file(name: str) -> Path | None:
    """``$VGBENCH_WEIGHTS_<NAME>`` for one registry weights file."""
    value = get(weights_variable(name))
    return Path(value).expanduser() if value else None


def weights_variable(name: str) -> str:
    """The variable that points at registry weights file ``name`` (non-alphanumerics become ``_``)."""
    return "VGBENCH_WEIGHTS_" + "".join(c if c.isalnum() else "_" for c in name).upper()


def torch_hub_checkpoints() -> Path:
    """torch.hub's checkpoint folder (``$TORCH_HOME``, else ``$XDG_CACHE_HOME/torch``)."""
    return Path(os.environ.get("TORCH_HOME") or _xdg_cache() / "torch") / "hub" / "checkpoints"


def offline() -> bool:
    return flag("VGBENCH_OFFLINE", "HF_HUB_OFFLINE")


def allow_random_weights() -> bool:
    return flag("VGBENCH_ALLOW_RANDOM_WEIGHTS")


def decoded_budget_mb() -> float:
    """``VGBENCH_DECODED_MB`` (default 2048; a bad value is the default)."""
    try:
        return max(1.0, float(get("VGBENCH_DECODED_MB") or 2048))
    except ValueError:
        return 2048.0


def progress_interval() -> float:
    """``VGBENCH_PROGRESS_INTERVAL`` in seconds (default 30; a bad value is the default)."""
    try:
        return max(0.0, float(get("VGBENCH_PROGRESS_INTERVAL") or 30))
    except ValueError:
        return 30.0


def max_input_bytes() -> int:
    """``VGBENCH_MAX_INPUT_MB`` in bytes (default 64 MB; a bad value is the default)."""
    try:
        return int(float(get("VGBENCH_MAX_INPUT_MB") or 64) * (1 << 20))
    except ValueError:
        return 64 << 20


def device() -> str | None:
    return get("VGBENCH_DEVICE")


def ffmpeg() -> str | None:
    return get("VGBENCH_FFMPEG")


def model_folder(name: str) -> str | None:
    """``$VGBENCH_OWLV2`` / ``$VGBENCH_BLIP``: a local Hugging Face model folder."""
    if name not in VARIABLES:
        raise KeyError(f"{name} is not a vgbench setting")
    return get(name)
