"""Per-item and paired metrics that run a network from the backbone registry.

:meth:`BackboneMetric.load` resolves and verifies the official weights (or, when explicitly allowed, builds a seeded
random init that flags every result), records the backbone name and the weights' SHA-256 on the metric, and moves
the network to the device. The results store keys cached scores by protocol id *and* weights hash, so a score
computed with other weights is never reused.
"""
from __future__ import annotations

from typing import Any, ClassVar

from vgbench.bench.errors import ConfigError
from vgbench.metrics.base import Metric


class BackboneMetric(Metric):
    """A metric whose scores come from one or more registry backbones (see :meth:`backbones_needed`)."""

    #: name of the backbone option, if the user may swap the network (e.g. CLIP ViT-B/32 vs ViT-L/14)
    backbone_option: ClassVar[str | None] = None

    def backbones_needed(self) -> list[str]:
        """Backbone registry names this metric's protocol needs (first one is reported as ``backbone``)."""
        raise NotImplementedError

    def head_weights(self) -> list[str]:
        """Registry weights files the metric loads besides its backbones' (heads, label lists); none by default."""
        return []

    def check_input(self, video) -> None:
        """Raise :class:`~vgbench.bench.errors.MetricError` before any forward pass when the video is smaller than a backbone
        of this protocol can take (:attr:`BackboneEntry.min_size`)."""
        from vgbench.bench.errors import MetricError
        from vgbench.metrics.backbones.registry import get_backbone_entry

        for name in self.backbones_needed():
            need = get_backbone_entry(name).min_size
            if need and min(video.height, video.width) < need:
                side = -(-need // 8) * 8  # the smaller side to at least the minimum, even, a multiple of 8
                scale = f"scale=-2:{side}" if video.height <= video.width else f"scale={side}:-2"
                raise MetricError(f"video too small for {name}: needs ≥ {need} px on each side, this video is "
                                  f"{video.width}x{video.height}. Upscale it (e.g. ffmpeg -i IN -vf {scale} "
                                  f"OUT.mp4) or leave {self.name} out")

    def weights_needed(self) -> list[str]:
        from vgbench.metrics.backbones.registry import get_backbone_entry

        return [w for w in (get_backbone_entry(b).weights for b in self.backbones_needed()) if w] + self.head_weights()

    def load(self, allow_random: bool | None = None, device: str | None = None, weights=None) -> None:
        """Resolve, verify and load the backbones (``weights``: user-supplied files, a
        :class:`~vgbench.metrics.backbones.registry.UserWeights` or ``{name: path}``)."""
        from vgbench.metrics.backbones.registry import UserWeights, default_device, get_backbone_entry, load_backbone

        self.device = device or default_device()
        self.user_weights = weights if isinstance(weights, UserWeights) else UserWeights(weights)
        self.nets: dict[str, Any] = {}
        shas, flags = [], []
        for name in self.backbones_needed():
            loaded = load_backbone(name, user_weights=self.user_weights.path_for(get_backbone_entry(name).weights),
                                   allow_random=allow_random, device=self.device)
            self.nets[name] = loaded
            shas.append(loaded.weights_sha256)
            flags += [f for f in loaded.flags if f not in flags]
        self.backbone = "+".join(self.backbones_needed())
        self.weights_sha256 = "+".join(shas)
        self.flags = flags

    def load_head(self, weights_name: str, module, allow_random: bool | None = None):
        """Load an extra weights file (a head shipped apart from its backbone: LPIPS heads, the LAION aesthetic head)
        into ``module`` (strict) and add its SHA-256 to ``weights_sha256``. Missing and random weights allowed: the
        module keeps its seeded init and the result is flagged."""
        from vgbench.metrics.backbones.checkpoint import load_strict, read_state_dict
        from vgbench.metrics.backbones.registry import (RANDOM_WEIGHTS_FLAG, USER_WEIGHTS_FLAG, WEIGHTS,
                                                random_weights_allowed)
        from vgbench.metrics.backbones.weights import WeightsMissingError, resolve, resolve_user

        allow = random_weights_allowed() if allow_random is None else allow_random
        user = getattr(self, "user_weights", None)
        user_path = user.path_for(weights_name) if user is not None else None
        try:
            # a file the user named must exist: its absence is never covered by a random init
            found = resolve(WEIGHTS[weights_name], download=not allow) if user_path is None else None
        except WeightsMissingError:
            found = None
            if not allow:
                raise
        if user_path is not None:
            found = resolve_user(WEIGHTS[weights_name], user_path)
        if found is not None:
            load_strict(module, read_state_dict(found.path), str(found.path))
            sha = found.sha256
            if found.trust == "user-supplied" and USER_WEIGHTS_FLAG not in self.flags:
                self.flags.append(USER_WEIGHTS_FLAG)
        else:  # missing and random weights allowed (the resolve error above was raised otherwise)
            sha = "random-init-seed0"
            if RANDOM_WEIGHTS_FLAG not in self.flags:
                self.flags.append(RANDOM_WEIGHTS_FLAG)
        self.weights_sha256 = f"{self.weights_sha256}+{sha}"
        return module.to(self.device).eval()

    def net(self, name: str):
        if not hasattr(self, "nets"):
            raise ConfigError(f"{self.protocol_id}: call load() before scoring (it verifies the weights)")
        return self.nets[name].model

