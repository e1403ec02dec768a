"""Protocol ids: ``name/protocol[@rev=N][@option=value...]`` (light: no torch, no numpy).

A protocol id names exactly what computed a value: the metric, its protocol, the protocol's revision when above 1
(a protocol whose computation was changed to match its reference code; see :attr:`vgbench.metrics.base.Metric.revisions`)
and the options that change numbers. Stored rows, cache keys, leaderboard columns and comparisons all key on it.
"""
from __future__ import annotations


def split_revision(protocol_id: str) -> tuple[str, int]:
    """``"fvd/videogpt@rev=2@x=1"`` → (``"fvd/videogpt@x=1"``, 2); ids without ``@rev=`` are revision 1."""
    head, *opts = protocol_id.split("@")
    rev, kept = 1, []
    for o in opts:
        if o.startswith("rev=") and o[4:].isdigit():
            rev = int(o[4:])
        else:
            kept.append(o)
    return "@".join([head, *kept]), rev


def base_protocol(protocol_id: str) -> str:
    """``"fvd/videogpt@rev=2@x=1"`` → ``"fvd/videogpt"`` (no revision, no options)."""
    return protocol_id.split("@")[0]
