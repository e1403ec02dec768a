"""Per-video memo that lets VBench dimensions share work in one evaluation pass.

``vgbench evaluate`` decodes a video once and calls every metric's ``score`` with the same :class:`~vgbench.bench.video.Video`
object. Dimensions whose recipes compute the same intermediate value ask :func:`shared` for it: the first one
computes it, the others reuse it. What is shared (only where the recipes coincide exactly, so sharing never changes a
number):

* RAFT flow-magnitude maps per frame pair: dynamic degree (its sampled pairs) and the temporal-flickering static
  filter (all consecutive pairs); for a video at ≤ 12 fps both use the same consecutive pairs.
* The ViCLIP video embedding of the 8 middle frames: overall consistency and temporal style.
* CLIP ViT-B/32 ``clip_transform`` image features: background consistency and anything else on that transform.
  (Appearance style shares the loaded network but not the features: VBench preprocesses it with the PIL
  ``clip_transform_Image``, whose antialiased resize gives different pixels.)
* Sampled frames (16 ``middle`` frames) for the detection-based semantic dimensions and their detections when the
  same detector and vocabulary are asked twice.

The memo holds one video at a time (the last one seen, by identity), so memory stays bounded; evaluating dimensions
one by one with a fresh decode each (VBench's way) gets a new ``Video`` object each time and so shares nothing.
"""
from __future__ import annotations

from typing import Any, Callable

_state: dict[str, Any] = {"video": None, "memo": {}, "hits": 0, "misses": 0}


def shared(video: Any, key: tuple, compute: Callable[[], Any]) -> Any:
    """``compute()`` once per (video object, ``key``); later calls for the same video return the stored value."""
    if _state["video"] is not video:
        _state["video"], _state["memo"] = video, {}
    memo = _state["memo"]
    if key in memo:
        _state["hits"] += 1
        return memo[key]
    _state["misses"] += 1
    memo[key] = value = compute()
    return value


def stats() -> dict[str, int]:
    """How often a shared value was reused (``hits``) or computed (``misses``) in this process."""
    return {"hits": _state["hits"], "misses": _state["misses"]}


def clear() -> None:
    _state.update(video=None, memo={})
