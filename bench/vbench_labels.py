"""VBench's rule for reading the action out of a human-action prompt, shared by the prompt importer
(:mod:`vgbench.prompts.importers`) and the ``human_action`` metric, which sit on the same floor and may not import each other.

Reference: Vchitect/VBench@45e79ec14e69 ``vbench/human_action.py``.
"""
from __future__ import annotations


def vbench_action_label(prompt: str) -> str:
    """VBench human_action's label parsing: ``name.lower().split('-')[0].split('person is ')[-1].split('_')[0]``."""
    return prompt.lower().split("-")[0].split("person is ")[-1].split("_")[0]
