"""VBench's 16 dimensions in one table: the metric that computes each, its group (Quality or Semantic), the min/max
VBench normalises it with, its weight in the group, the help text, and where its metric class lives. ``vgbench
evaluate --dimensions``, the ``vbench`` leaderboard scheme, the metric registry and the CLI help all read this table;
adding a dimension is one row here plus its metric class.

Normalisation constants and weights: VBench's ``scripts/constant.py`` (NORMALIZE_DIC, DIM_WEIGHT; dynamic degree
weighs 0.5), Total = (4·Quality + Semantic)/5.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class VBenchDimension:
    name: str
    metric: str  # the metric spec that computes it (``NAME`` or ``NAME/PROTOCOL``)
    group: str  # "quality" or "semantic"
    min: float
    max: float
    weight: float = 1.0
    note: str = ""  # shown in the CLI help
    also: tuple[str, ...] = ()  # other protocol ids whose values count as this dimension
    #: ``"module:Class"`` of the metric, when the dimension brings its own metric: the metric registry registers it
    #: from here, so a new dimension is its class plus this row
    target: str = ""

    @property
    def protocol_id(self) -> str:
        return self.metric if "/" in self.metric else f"{self.metric}/vbench"


DIMENSIONS: tuple[VBenchDimension, ...] = (
    VBenchDimension("subject_consistency", "subject_consistency", "quality", 0.1462, 1.0,
                    target="vgbench.metrics.vbench.dimensions:SubjectConsistency"),
    VBenchDimension("background_consistency", "background_consistency", "quality", 0.2615, 1.0,
                    target="vgbench.metrics.vbench.dimensions:BackgroundConsistency"),
    # the plain temporal_flickering/vbench (no static filter) also counts, as before the static filter existed
    VBenchDimension("temporal_flickering", "temporal_flickering/vbench_static_filter", "quality", 0.6293, 1.0,
                    note="RAFT static filter", also=("temporal_flickering/vbench",)),
    VBenchDimension("motion_smoothness", "motion_smoothness", "quality", 0.706, 0.9975,
                    target="vgbench.metrics.vbench.dimensions:MotionSmoothness"),
    VBenchDimension("dynamic_degree", "dynamic_degree", "quality", 0.0, 1.0, weight=0.5,
                    target="vgbench.metrics.vbench.dimensions:DynamicDegree"),
    VBenchDimension("aesthetic_quality", "aesthetic_quality", "quality", 0.0, 1.0,
                    target="vgbench.metrics.vbench.dimensions:AestheticQuality"),
    VBenchDimension("imaging_quality", "imaging_quality", "quality", 0.0, 1.0,
                    target="vgbench.metrics.vbench.dimensions:ImagingQuality"),
    VBenchDimension("object_class", "object_class", "semantic", 0.0, 1.0, note="OWLv2, vbench-style",
                    target="vgbench.metrics.vbench.semantic:ObjectClass"),
    VBenchDimension("multiple_objects", "multiple_objects", "semantic", 0.0, 1.0, note="OWLv2, vbench-style",
                    target="vgbench.metrics.vbench.semantic:MultipleObjects"),
    VBenchDimension("human_action", "human_action", "semantic", 0.0, 1.0,
                    target="vgbench.metrics.vbench.semantic:HumanAction"),
    VBenchDimension("color", "color", "semantic", 0.0, 1.0, note="OWLv2, vbench-style",
                    target="vgbench.metrics.vbench.semantic:Color"),
    VBenchDimension("spatial_relationship", "spatial_relationship", "semantic", 0.0, 1.0, note="OWLv2, vbench-style",
                    target="vgbench.metrics.vbench.semantic:SpatialRelationship"),
    VBenchDimension("scene", "scene", "semantic", 0.0, 0.8222, note="Tag2Text",
                    target="vgbench.metrics.vbench.semantic:Scene"),
    VBenchDimension("appearance_style", "appearance_style", "semantic", 0.0009, 0.2855,
                    target="vgbench.metrics.vbench.dimensions:AppearanceStyle"),
    VBenchDimension("temporal_style", "temporal_style", "semantic", 0.0, 0.364,
                    target="vgbench.metrics.vbench.dimensions:TemporalStyle"),
    VBenchDimension("overall_consistency", "overall_consistency", "semantic", 0.0, 0.364,
                    target="vgbench.metrics.vbench.dimensions:OverallConsistency"),
)

#: VBench-I2V's dimensions (``vbench2_beta_i2v``; normalisation from ``scripts/constant.py`` NORMALIZE_DIC_I2V and
#: DIM_WEIGHT_I2V). Not in ``--dimensions all`` nor in the ``vbench`` scheme: they need an image-to-video run.
I2V_DIMENSIONS: tuple[VBenchDimension, ...] = (
    VBenchDimension("i2v_subject", "i2v_subject", "i2v", 0.1462, 1.0, note="I2V: DINO to the conditioning image",
                    target="vgbench.metrics.vbench.i2v:I2VSubject"),
    VBenchDimension("i2v_background", "i2v_background", "i2v", 0.2615, 1.0,
                    note="I2V: DreamSim to the conditioning image", target="vgbench.metrics.vbench.i2v:I2VBackground"),
    VBenchDimension("camera_motion", "camera_motion", "i2v", 0.0, 1.0, weight=0.1,
                    note="I2V: CoTracker2 tracks of the prompt's camera move",
                    target="vgbench.metrics.vbench.camera_motion:CameraMotion"),
)

BY_NAME: dict[str, VBenchDimension] = {d.name: d for d in (*DIMENSIONS, *I2V_DIMENSIONS)}


def protocol_dimensions() -> dict[str, str]:
    """Metric protocol id → the VBench dimension its values count as. (``viclip_score/vbench`` is overall consistency
    or temporal style depending on the prompts, so it is not listed.)"""
    out: dict[str, str] = {}
    for d in (*DIMENSIONS, *I2V_DIMENSIONS):
        for pid in (*d.also, d.protocol_id):
            out[pid] = d.name
    return out


def help_text() -> str:
    """The dimension list for ``--help``."""
    return ", ".join(f"{d.name} ({d.note})" if d.note else d.name for d in (*DIMENSIONS, *I2V_DIMENSIONS))


def dimension_specs(text: str) -> list[str]:
    """``"all"`` (VBench's 16) or a comma-separated list of VBench and VBench-I2V dimension names → their metric
    specs, in the order given. A name may carry its metric's options as ``--metrics`` does:
    ``camera_motion@tracker=lk`` → ``camera_motion@tracker=lk``.

    Raises:
        UnknownNameError: an unknown dimension name (the message suggests the closest and lists the 16).
    """
    from vgbench.bench.errors import unknown_name

    items: list[str] = []
    for t in (t.strip() for t in text.split(",")):
        for item in ([d.name for d in DIMENSIONS] if t == "all" else [t] if t else []):
            if item not in items:  # a dimension named twice is computed once
                items.append(item)
    split = [(name.strip(), at + opts) for name, at, opts in (i.partition("@") for i in items)]
    unknown = [n for n, _ in split if n not in BY_NAME]
    if unknown:
        raise unknown_name("VBench dimension", unknown, ["all", *BY_NAME], "vgbench metrics list")
    # the options (``@key=value``) are the metric's, checked when it is created (an empty value is an error there)
    return [BY_NAME[n].metric + opts for n, opts in split]
