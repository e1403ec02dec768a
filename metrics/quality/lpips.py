"""LPIPS between a generated video and its reference, frame pair by frame pair (metric-recipes §7).

``lpips/alex`` (default)
    ``lpips.LPIPS(net='alex', version='0.1')`` standard output: per frame pair the sum over layers of the spatially
    averaged weighted distances; frames in [0,1] mapped to ``2x − 1``. Lower is better; 0 for identical frames.
``lpips/vgg``
    the same with VGG16 features and heads.
``lpips/common_metrics``
    common_metrics_on_video_quality: ``spatial=True`` with AlexNet, each layer's map upsampled (bilinear) to the
    frame size, summed, and the map's mean taken (slightly different from the standard output). Their demo (zeros vs
    ones, 64×64) gives 0.8140.

The set value is the mean over all frame pairs of all videos (frame-weighted, as common_metrics averages).
Videos of different lengths are compared over their first ``min(T)`` frames; different sizes are an item error.
"""
from __future__ import annotations

from vgbench.bench.errors import MetricError
from vgbench.bench.lazy import lazy_import
from vgbench.bench.video import Video
from vgbench.metrics.quality.psnr_ssim import check_pair
from vgbench.metrics.base import ItemScore, MetricKind, MetricOption
from vgbench.metrics.model_metric import BackboneMetric

torch = lazy_import("torch")


_NET = {"alex": "alex", "vgg": "vgg", "common_metrics": "alex"}


class LPIPS(BackboneMetric):
    """Learned perceptual distance (LPIPS v0.1) of generated vs reference frames. Lower is better."""

    name = "lpips"
    summary = "LPIPS v0.1 (AlexNet/VGG) vs a reference video"
    needs_download = True
    requires = ('torchvision',)
    kind = MetricKind.PAIRED
    higher_is_better = False
    needs_reference = True
    aggregation = "frame"
    value_range = (0.0, float("inf"))
    protocols = {
        "alex": "LPIPS v0.1 AlexNet, standard (spatially averaged) output, mean over frame pairs",
        "vgg": "LPIPS v0.1 VGG16, standard output, mean over frame pairs",
        "common_metrics": "common_metrics_on_video_quality: AlexNet, spatial=True map upsampled and averaged",
    }
    options = {"batch": MetricOption("16", "frame pairs per forward pass (speed/memory only)", affects_result=False)}

    def backbones_needed(self) -> list[str]:
        return ["alexnet_lpips" if _NET[self.protocol] == "alex" else "vgg16_lpips"]

    def head_weights(self) -> list[str]:
        return [f"lpips_{_NET[self.protocol]}_v0_1"]

    def load(self, allow_random: bool | None = None, device: str | None = None, weights=None) -> None:
        from vgbench.metrics.backbones.lpips import CHANNELS, LinearHeads, LPIPSNet

        super().load(allow_random, device, weights)
        net = _NET[self.protocol]
        torch.manual_seed(0)
        heads = self.load_head(f"lpips_{net}_v0_1", LinearHeads(CHANNELS[net]), allow_random)
        self.lpips_net = LPIPSNet(net, self.net(self.backbones_needed()[0]), heads).to(self.device).eval()

    def per_frame(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """LPIPS of each frame pair of uint8 ``[T,H,W,3]`` videos (first ``min(T)`` frames)."""
        t = check_pair(pred, target)
        batch = max(1, int(self.opts["batch"]))
        out = []
        for s in range(0, t, batch):
            a = pred[s:min(s + batch, t)].permute(0, 3, 1, 2).float().div(255.0).mul(2).sub(1).to(self.device)
            b = target[s:min(s + batch, t)].permute(0, 3, 1, 2).float().div(255.0).mul(2).sub(1).to(self.device)
            if self.protocol == "common_metrics":
                out.append(self.lpips_net(a, b, spatial=True).mean(dim=(1, 2, 3)).cpu())
            else:
                out.append(self.lpips_net(a, b).cpu())
        return torch.cat(out).double()

    def score(self, video: Video, reference: Video | None = None, prompt: str | None = None) -> ItemScore:
        if reference is None:
            raise MetricError("LPIPS needs a reference video")
        if not hasattr(self, "lpips_net"):
            raise MetricError("lpips: call load() before scoring")
        pf = self.per_frame(video.frames, reference.frames)
        extra = {"frames_compared": int(pf.numel()), "per_frame": [round(float(v), 8) for v in pf]}
        if video.num_frames != reference.num_frames:
            extra["frame_count_mismatch"] = [video.num_frames, reference.num_frames]
        return ItemScore(float(pf.mean()), float(pf.numel()), extra)
