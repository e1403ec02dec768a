"""Open video generators through diffusers, with pinned reference settings.

Every adapter carries its own reference configuration (frames, fps, resolution, steps, guidance, negative prompt,
dtype) taken from the model card or VBench's sampling manifest, not the pipeline defaults (Mochi's pipeline default
is 19 frames; its published setting is 163). Frame-count rules are checked before anything is generated (4k+1 for
Wan/HunyuanVideo, 8k+1 for LTX-Video, 6k+1 for Mochi, fixed 49 for CogVideoX 1.0). The fps written into each video
is the model's.

Weights come from the user's Hugging Face cache (``from_pretrained(checkpoint)``, ``local_files_only`` when
``HF_HUB_OFFLINE``/``VGBENCH_OFFLINE`` is set) or a local path (``--model-arg checkpoint=/path``); the pipeline is
loaded once, when the run starts, and a missing model fails the run at once with what to download.

Options (``--model-arg key=value``): ``checkpoint`` (path or repo id), ``steps``, ``guidance``,
``negative_prompt``, ``dtype`` (float32|float16|bfloat16), ``device`` (default cuda when available), ``offload``
(none|model|sequential: CPU offload), ``vae_tiling`` (0|1), ``vae_fp32`` (0|1). Steps, guidance, negative prompt,
dtype and checkpoint are content-defining (they enter the item ids); memory options are not.
"""
from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from vgbench.bench.errors import ConfigError, GenerationError
from vgbench.bench.video import Video
from vgbench.reference_models.base import Capabilities, GenerationRequest


@dataclass(frozen=True)
class DiffusersSpec:
    """Reference settings of one open model (sources in ``source``)."""

    name: str
    pipeline: str
    checkpoint: str
    task: str
    frames: int
    fps: float
    width: int
    height: int
    frame_rule: str
    steps: int
    guidance: float
    negative_prompt: str = ""
    dtype: str = "bfloat16"
    vae_fp32: bool = False
    call: dict[str, Any] = field(default_factory=dict)  # extra pipeline arguments (content-defining)
    memory: str = ""
    license: str = ""
    source: str = ""
    extra_components: tuple[str, ...] = ()  # e.g. AnimateDiff's motion adapter: ("motion_adapter",)
    load: dict[str, Any] = field(default_factory=dict)  # extra from_pretrained arguments (content-defining)
    #: with ``vae_fp32``, the VAE class loaded on its own in float32 (``subfolder="vae"``), as the diffusers docs and
    #: MLPerf do, rather than cast up from the pipeline's dtype after loading (which would round its weights)
    vae_class: str = ""


_WAN_NEGATIVE = ("Bright tones, overexposed, static, blurred details, subtitles, style, works, paintings, images, "
                 "static, overall gray, worst quality, low quality, JPEG compression residue, ugly, incomplete, extra "
                 "fingers, poorly drawn hands, poorly drawn faces, deformed, disfigured, misshapen limbs, fused "
                 "fingers, still picture, messy background, three legs, many people in the background, walking "
                 "backwards")

SPECS: dict[str, DiffusersSpec] = {s.name: s for s in (
    DiffusersSpec("cogvideox-2b", "CogVideoXPipeline", "THUDM/CogVideoX-2b", "t2v", 49, 8.0, 720, 480, "fixed:49",
                  50, 6.0, dtype="float16", call={"max_sequence_length": 226, "use_dynamic_cfg": True},
                  memory="18 GB GPU fp16 (4 GB with sequential offload)", license="Apache-2.0",
                  source="model card + VBench row: 49 f, 8 fps, 720x480; 50 steps, guidance 6"),
    DiffusersSpec("cogvideox-5b", "CogVideoXPipeline", "THUDM/CogVideoX-5b", "t2v", 49, 8.0, 720, 480, "fixed:49",
                  50, 6.0, call={"max_sequence_length": 226, "use_dynamic_cfg": True},
                  memory="~33 GB GPU bf16 (19 GB model offload, <4 GB sequential)",
                  license="CogVideoX License", source="model card: 49 f, 8 fps, 720x480, 50 steps, guidance 6"),
    DiffusersSpec("cogvideox-5b-i2v", "CogVideoXImageToVideoPipeline", "THUDM/CogVideoX-5b-I2V", "i2v", 49, 8.0, 720,
                  480, "fixed:49", 50, 6.0, call={"max_sequence_length": 226, "use_dynamic_cfg": True},
                  memory="~33 GB GPU bf16", license="CogVideoX License",
                  source="model card: 49 f, 8 fps, 720x480, 50 steps, guidance 6"),
    DiffusersSpec("wan2.1-t2v-1.3b", "WanPipeline", "Wan-AI/Wan2.1-T2V-1.3B-Diffusers", "t2v", 81, 16.0, 832, 480,
                  "4k+1", 50, 5.0, vae_fp32=True, vae_class="AutoencoderKLWan",
                  negative_prompt=_WAN_NEGATIVE,
                  memory="8.19 GB GPU (official)", license="Apache-2.0",
                  source="model card / diffusers docs: 81 f, 16 fps, 832x480, guidance 5, VAE in fp32"),
    DiffusersSpec("wan2.1-t2v-14b", "WanPipeline", "Wan-AI/Wan2.1-T2V-14B-Diffusers", "t2v", 81, 16.0, 1280, 720,
                  "4k+1", 50, 5.0, vae_fp32=True, vae_class="AutoencoderKLWan",
                  memory="~13 GB GPU with group offload (docs)",
                  license="Apache-2.0", source="model card: 81 f, 16 fps, 1280x720, guidance 5"),
    DiffusersSpec("wan2.2-t2v-a14b", "WanPipeline", "Wan-AI/Wan2.2-T2V-A14B-Diffusers", "t2v", 81, 16.0, 1280, 720,
                  "4k+1", 40, 4.0, vae_fp32=True, vae_class="AutoencoderKLWan", call={"guidance_scale_2": 3.0},
                  load={"boundary_ratio": 0.875},
                  negative_prompt=_WAN_NEGATIVE,
                  memory="~80 GB GPU bf16 at 720p (two 14B experts; model offload to fit less)", license="Apache-2.0",
                  source="model card / diffusers docs: 81 f, 16 fps, 1280x720, 40 steps, guidance 4.0 (high-noise "
                         "expert) and 3.0 (low-noise), boundary ratio 0.875, VAE in fp32; MLPerf's accuracy run: "
                         "`vgbench run --preset mlperf-t2v`"),
    DiffusersSpec("ltx-video", "LTXPipeline", "Lightricks/LTX-Video", "t2v", 121, 25.0, 768, 512, "8k+1", 50, 3.0,
                  negative_prompt="worst quality, inconsistent motion, blurry, jittery, distorted",
                  call={"max_sequence_length": 128},
                  memory="~10 GB GPU with group offload (docs)", license="LTX-Video Open Weights License",
                  source="VBench row: 121 f, 25 fps, 768x512; diffusers docs: guidance 3, negative prompt"),
    DiffusersSpec("animatediff", "AnimateDiffPipeline", "SG161222/Realistic_Vision_V5.1_noVAE", "t2v", 16, 8.0, 512,
                  512, "any", 25, 7.5, dtype="float16", negative_prompt="bad quality, worse quality",
                  memory="<10 GB GPU fp16 (estimate)", license="CreativeML OpenRAIL-M (base) / Apache-2.0 (adapter)",
                  extra_components=("motion_adapter",),
                  source="diffusers AnimateDiff docs: motion adapter guoyww/animatediff-motion-adapter-v1-5-2 on "
                         "Realistic Vision V5.1, 16 f, 25 steps, guidance 7.5; VBench: 8 fps"),
    DiffusersSpec("svd-xt", "StableVideoDiffusionPipeline", "stabilityai/stable-video-diffusion-img2vid-xt", "i2v",
                  25, 7.0, 1024, 576, "any", 25, 3.0, dtype="float16",
                  call={"motion_bucket_id": 127, "noise_aug_strength": 0.02, "fps": 7, "min_guidance_scale": 1.0,
                        "decode_chunk_size": 8},
                  memory="<8 GB GPU with offload + decode_chunk_size 2 (docs)",
                  license="Stable Video Diffusion Community License",
                  source="unet config 25 f; fps=7 conditioning and export, 1024x576, 25 steps, motion bucket 127"),
    DiffusersSpec("hunyuanvideo", "HunyuanVideoPipeline", "hunyuanvideo-community/HunyuanVideo", "t2v", 129, 24.0,
                  1280, 720, "4k+1", 50, 6.0, memory="~60 GB GPU at 720p (official)",
                  license="Tencent Hunyuan Community License",
                  source="pipeline default 129 f (4k+1), 720x1280; VBench row 24 fps; embedded guidance 6"),
    DiffusersSpec("mochi", "MochiPipeline", "genmo/mochi-1-preview", "t2v", 163, 30.0, 848, 480, "6k+1", 64, 4.5,
                  memory="22 GB GPU bf16 variant with offload; decode in fp32 is the peak", license="Apache-2.0",
                  source="VBench row: 163 f, 30 fps (pipeline default is 19 f); 848x480, 64 steps, guidance 4.5"),
)}

_MOTION_ADAPTER = "guoyww/animatediff-motion-adapter-v1-5-2"


def _offline() -> bool:
    from vgbench.bench import settings

    return settings.offline()


class DiffusersGenerator:
    """A diffusers pipeline with pinned reference settings (see the module docstring)."""

    #: the arguments, with their units (``vgbench models show``); unset ones take the model's reference setting
    parameters = {
        "checkpoint": "Hugging Face repo id or local folder of the pipeline (default: the model's official repo)",
        "steps": "number of denoising steps (integer; default: the model's reference setting)",
        "guidance": "classifier-free guidance scale (unitless float; default: the model's reference setting)",
        "negative_prompt": "negative prompt text (default: the model's reference one; '' for none)",
        "dtype": "weights and activations dtype: float32, float16 or bfloat16 (default: the model's)",
        "device": "torch device, e.g. cuda or cuda:1 (default: cuda when visible, else cpu)",
        "offload": "none, model (whole sub-models to CPU between uses) or sequential (layer by layer: least GPU "
                   "memory, slowest)",
        "vae_tiling": "1 to decode the VAE in tiles (less memory; can leave seams), 0 not to",
        "vae_fp32": "1 to run the VAE in float32 whatever dtype is (default: the model's reference setting)",
        "motion_adapter": "AnimateDiff motion adapter repo id or folder (AnimateDiff models only)",
        "latents": "a torch tensor file (.pt) of initial latents passed to every generation, as MLPerf's "
                   "fixed_latent.pt (its SHA-256 enters the item ids); default: latents drawn from the seed",
    }

    def __init__(self, name: str, checkpoint: str | None = None, steps: str | int | None = None,
                 guidance: str | float | None = None, negative_prompt: str | None = None, dtype: str | None = None,
                 device: str | None = None, offload: str = "none", vae_tiling: str | bool = "0",
                 vae_fp32: str | bool | None = None, motion_adapter: str | None = None, latents: str | None = None):
        if name not in SPECS:
            raise ConfigError(f"unknown diffusers model {name!r}; available: {', '.join(sorted(SPECS))}")
        s = SPECS[name]
        self.spec = s
        self.model_id = f"diffusers/{name}"
        self.checkpoint = checkpoint or s.checkpoint
        self.steps = int(steps) if steps is not None else s.steps
        self.guidance = float(guidance) if guidance is not None else s.guidance
        self.negative_prompt = s.negative_prompt if negative_prompt is None else negative_prompt
        self.dtype = dtype or s.dtype
        if self.dtype not in ("float32", "float16", "bfloat16"):
            raise ConfigError(f"{name}: dtype must be float32, float16 or bfloat16, not {self.dtype!r}")
        self.device = device
        if offload not in ("none", "model", "sequential"):
            raise ConfigError(f"{name}: offload must be none, model or sequential")
        self.offload = offload
        self.vae_tiling = str(vae_tiling).lower() in ("1", "true", "yes")
        self.vae_fp32 = s.vae_fp32 if vae_fp32 is None else str(vae_fp32).lower() in ("1", "true", "yes")
        self.motion_adapter = motion_adapter or (_MOTION_ADAPTER if "motion_adapter" in s.extra_components else None)
        self.latents_path = latents
        self.latents_sha256 = None
        if latents:
            from vgbench.bench import provenance

            if not os.path.isfile(latents):
                raise ConfigError(f"{name}: latents file {latents} does not exist (MLPerf's is data/fixed_latent.pt "
                                  "of its dataset: `mlcr get-dataset-mlperf-inference-text-to-video`)")
            self.latents_sha256 = provenance.file_sha256(latents)
        self._latents = None
        if latents:
            self._load_latents()  # a file that is not a tensor fails the plan, not every item after the model loads
        self.capabilities = Capabilities(
            tasks=(s.task,), default_frames=s.frames, default_fps=s.fps, default_width=s.width,
            default_height=s.height, frame_rule=s.frame_rule, needs_weights=True, license=s.license,
            memory=s.memory, description=f"{s.pipeline} {s.checkpoint}; {s.source}")
        self.pipe = None

    def settings(self) -> dict:
        out = {"pipeline": self.spec.pipeline, "checkpoint": self.checkpoint, "steps": self.steps,
               "guidance": self.guidance, "negative_prompt": self.negative_prompt, "dtype": self.dtype,
               "vae_fp32": self.vae_fp32, "call": dict(self.spec.call)}
        if self.motion_adapter:
            out["motion_adapter"] = self.motion_adapter
        if self.spec.load:
            out["load"] = dict(self.spec.load)
        if self.latents_sha256:
            out["latents_sha256"] = self.latents_sha256
        return out

    # ---- loading ------------------------------------------------------------------------------------------------
    def bind_run(self, run_dir) -> None:
        """Load the pipeline before the first item (a missing model fails the run at once)."""
        self.load()

    def load(self):
        if self.pipe is not None:
            return self.pipe
        try:
            import diffusers
            import torch
        except ImportError as e:
            raise ConfigError(f"{self.model_id} needs diffusers and transformers: pip install 'vgbench[diffusers]' "
                              f"({e})") from e
        cls = getattr(diffusers, self.spec.pipeline, None)
        if cls is None:
            raise ConfigError(f"{self.model_id}: diffusers {diffusers.__version__} has no {self.spec.pipeline}; "
                              "upgrade diffusers")
        dtype = getattr(torch, self.dtype)
        kwargs: dict[str, Any] = {"torch_dtype": dtype, **self.spec.load}
        local = os.path.isdir(self.checkpoint)
        if _offline() or local:
            kwargs["local_files_only"] = True
        if self.motion_adapter and local and (os.path.isdir(os.path.join(self.checkpoint, "motion_adapter"))):
            self.motion_adapter = None  # a saved AnimateDiff pipeline folder carries its motion adapter
        try:
            if self.motion_adapter:
                kwargs["motion_adapter"] = diffusers.MotionAdapter.from_pretrained(
                    self.motion_adapter, torch_dtype=dtype, local_files_only=kwargs.get("local_files_only", False))
            with warnings.catch_warnings():  # newer diffusers renamed torch_dtype to dtype; both still work
                warnings.filterwarnings("ignore", message=".*torch_dtype.*")
                if self.vae_fp32 and self.spec.vae_class:
                    kwargs["vae"] = getattr(diffusers, self.spec.vae_class).from_pretrained(
                        self.checkpoint, subfolder="vae", torch_dtype=torch.float32,
                        local_files_only=kwargs.get("local_files_only", False))
                pipe = cls.from_pretrained(self.checkpoint, **kwargs)
        except (OSError, ValueError, EnvironmentError) as e:
            where = ("the local folder " + self.checkpoint) if local else f"the Hugging Face cache ({self.checkpoint})"
            raise ConfigError(
                f"{self.model_id}: cannot load the pipeline from {where}: {str(e).splitlines()[0][:300]}. "
                f"Download it on an online machine with `huggingface-cli download {self.spec.checkpoint}`"
                + (f" and `huggingface-cli download {self.motion_adapter}`" if self.motion_adapter else "")
                + ", or pass --model-arg checkpoint=/path/to/the/pipeline/folder") from e
        if self.vae_fp32 and getattr(pipe, "vae", None) is not None:
            pipe.vae.to(torch.float32)
        device = self.device or ("cuda" if torch.cuda.is_available() else "cpu")
        if self.offload == "model":
            pipe.enable_model_cpu_offload()
        elif self.offload == "sequential":
            pipe.enable_sequential_cpu_offload()
        else:
            pipe.to(device)
        if self.vae_tiling and hasattr(getattr(pipe, "vae", None), "enable_tiling"):
            pipe.vae.enable_tiling()
        pipe.set_progress_bar_config(disable=True)
        self.pipe = pipe
        self._device = device
        return pipe

    # ---- generation ---------------------------------------------------------------------------------------------
    def call_kwargs(self, request: GenerationRequest) -> dict[str, Any]:
        """The pipeline arguments for ``request`` (public so tests and users can see exactly what is called)."""
        import torch

        gen_device = "cpu" if self.offload != "none" else getattr(self, "_device", "cpu")
        kw: dict[str, Any] = {"num_frames": request.num_frames, "height": request.height, "width": request.width,
                              "num_inference_steps": self.steps,
                              "generator": torch.Generator(device=gen_device).manual_seed(int(request.seed)),
                              "output_type": "np", **self.spec.call}
        if self.spec.pipeline == "StableVideoDiffusionPipeline":
            kw["max_guidance_scale"] = self.guidance
            kw["fps"] = int(round(request.fps))  # the conditioning fps is the export fps
        else:
            kw["prompt"] = request.prompt
            kw["guidance_scale"] = self.guidance
            if self.negative_prompt and self.spec.pipeline != "HunyuanVideoPipeline":
                kw["negative_prompt"] = self.negative_prompt
        if self.spec.pipeline == "LTXPipeline":
            kw["frame_rate"] = request.fps
        if self.latents_path:
            kw["latents"] = self._load_latents()
        if self.spec.task == "i2v":
            if not request.image:
                raise GenerationError(f"{self.model_id} is image-to-video: the prompt needs an 'image'")
            from PIL import Image

            kw["image"] = Image.open(request.image).convert("RGB").resize((request.width, request.height))
        return kw

    def _load_latents(self):
        """The fixed latents file, loaded once (``torch.load(weights_only=True)``: a plain tensor, as MLPerf's)."""
        import torch

        if self._latents is None:
            try:
                t = torch.load(self.latents_path, map_location="cpu", weights_only=True)
            except Exception as e:  # noqa: BLE001 - any unreadable file is the same user error
                raise ConfigError(f"{self.model_id}: cannot read latents file {self.latents_path}: {e}") from e
            if not isinstance(t, torch.Tensor):
                raise ConfigError(f"{self.model_id}: {self.latents_path} holds a {type(t).__name__}, not a tensor")
            self._latents = t
        return self._latents

    def generate(self, request: GenerationRequest) -> Video:
        pipe = self.load()
        try:
            out = pipe(**self.call_kwargs(request))
        except Exception as e:  # noqa: BLE001 - any pipeline failure fails this item, not the run
            raise GenerationError(f"{self.spec.pipeline} failed: {type(e).__name__}: {e}") from e
        frames = out.frames[0] if hasattr(out, "frames") else out[0][0]
        if isinstance(frames, list):  # PIL images
            frames = np.stack([np.asarray(f.convert("RGB")) for f in frames])
        frames = np.asarray(frames)
        if frames.dtype != np.uint8:
            frames = np.clip(np.rint(frames.astype(np.float64) * 255.0), 0, 255).astype(np.uint8)
        return Video.from_numpy(frames, request.fps)


def diffusers_entries():
    """(name, summary) of every diffusers adapter, for the model registry."""
    def extra(s: DiffusersSpec) -> str:
        more = {**{k: v for k, v in s.call.items() if k.startswith("guidance")}, **s.load}
        return "".join(f", {k} {v:g}" if isinstance(v, float) else f", {k} {v}" for k, v in more.items())

    return [(s.name, f"{s.pipeline} ({s.checkpoint}): {s.frames} f @ {s.fps:g} fps, {s.width}x{s.height}, "
                     f"{s.steps} steps, guidance {s.guidance:g}{extra(s)} [{s.task}]") for s in SPECS.values()]
