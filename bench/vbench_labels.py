"""VBench's rules for reading a label out of a prompt, shared by the prompt importers (:mod:`vgbench.prompts`) and
the metrics, which sit on the same floor and may not import each other: the action of a human-action prompt and the
camera motion of a VBench-I2V camera prompt.

Reference: Vchitect/VBench@45e79ec14e69 ``vbench/human_action.py``, ``vbench2_beta_i2v/camera_motion.py::get_type``.
"""
from __future__ import annotations


def vbench_action_label(prompt: str) -> str:
    """VBench human_action's label parsing: ``name.lower().split('-')[0].split('person is ')[-1].split('_')[0]``."""
    return prompt.lower().split("-")[0].split("person is ")[-1].split("_")[0]


#: VBench-I2V ``camera_motion.py::get_type``: prompt phrase → camera label (checked in this order)
CAMERA_LABELS = {"camera pans left": "pan_left", "camera pans right": "pan_right", "camera tilts up": "tilt_up",
                 "camera tilts down": "tilt_down", "camera zooms in": "zoom_in", "camera zooms out": "zoom_out",
                 "camera static": "static"}


def camera_label(prompt: str) -> str | None:
    """The camera label VBench-I2V reads from a prompt (it reads the video's file name, which is the prompt); None
    when the prompt names no camera motion."""
    for phrase, label in CAMERA_LABELS.items():
        if phrase in prompt:
            return label
    return None
