"""Each diffusers adapter end to end on CPU: a tiny randomly initialised pipeline is built here from the real
component classes (as diffusers' own tests do), saved as a local pipeline folder and run through `vgbench run` with
the adapter's declared frame count and fps (the real loading path: `from_pretrained(folder)`, offline). Nothing is
downloaded: tokenizers are tiny word-level tokenizers built in the test."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

diffusers = pytest.importorskip("diffusers")
transformers = pytest.importorskip("transformers")

from vgbench.bench.video import read_video  # noqa: E402

WORDS = "a the cat dog red blue moving left right on background circle square dance monkey".split()


def word_tokenizer(max_len: int = 32, bos: bool = False):
    from tokenizers import Tokenizer, models, pre_tokenizers, processors

    vocab = {"<pad>": 0, "</s>": 1, "<unk>": 2, "<s>": 3}
    for i, w in enumerate(WORDS):
        vocab[w] = i + 4
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    if bos:
        tok.post_processor = processors.TemplateProcessing(single="<s> $A </s>", special_tokens=[("<s>", 3), ("</s>", 1)])
    return transformers.PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="</s>",
                                                unk_token="<unk>", bos_token="<s>", model_max_length=max_len)


def tiny_t5(d_model: int = 32):
    torch.manual_seed(0)
    cfg = transformers.T5Config(vocab_size=64, d_model=d_model, d_kv=8, d_ff=37, num_layers=1, num_heads=4,
                                relative_attention_num_buckets=8)
    return transformers.T5EncoderModel(cfg)


def tiny_clip_text(hidden: int = 32, projection: int = 32):
    torch.manual_seed(0)
    cfg = transformers.CLIPTextConfig(bos_token_id=3, eos_token_id=1, pad_token_id=0, hidden_size=hidden,
                                      intermediate_size=37, num_attention_heads=4, num_hidden_layers=2,
                                      vocab_size=64, projection_dim=projection, max_position_embeddings=77)
    return transformers.CLIPTextModel(cfg)


# ---- tiny pipelines ------------------------------------------------------------------------------------------------
def build_cogvideox():
    torch.manual_seed(0)
    transformer = diffusers.CogVideoXTransformer3DModel(
        num_attention_heads=4, attention_head_dim=8, in_channels=4, out_channels=4, time_embed_dim=2,
        text_embed_dim=32, num_layers=1, sample_width=2, sample_height=2, sample_frames=49, patch_size=2,
        temporal_compression_ratio=4, max_text_seq_length=226)
    vae = diffusers.AutoencoderKLCogVideoX(
        in_channels=3, out_channels=3, down_block_types=("CogVideoXDownBlock3D",) * 4,
        up_block_types=("CogVideoXUpBlock3D",) * 4, block_out_channels=(8, 8, 8, 8), latent_channels=4,
        layers_per_block=1, norm_num_groups=2, temporal_compression_ratio=4)
    return diffusers.CogVideoXPipeline(tokenizer=word_tokenizer(226), text_encoder=tiny_t5(), vae=vae,
                                       transformer=transformer, scheduler=diffusers.DDIMScheduler())


def build_wan():
    torch.manual_seed(0)
    vae = diffusers.AutoencoderKLWan(base_dim=3, z_dim=16, dim_mult=[1, 1, 1, 1], num_res_blocks=1,
                                     temperal_downsample=[False, True, True])
    transformer = diffusers.WanTransformer3DModel(
        patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=12, in_channels=16, out_channels=16,
        text_dim=32, freq_dim=256, ffn_dim=32, num_layers=2, cross_attn_norm=True, qk_norm="rms_norm_across_heads",
        rope_max_seq_len=32)
    return diffusers.WanPipeline(tokenizer=word_tokenizer(512), text_encoder=tiny_t5(), vae=vae,
                                 transformer=transformer,
                                 scheduler=diffusers.FlowMatchEulerDiscreteScheduler(shift=7.0))


def build_wan22():
    """Wan2.2-T2V-A14B's layout: two experts (``transformer`` for high noise, ``transformer_2`` for low noise) and
    the boundary ratio saved in the pipeline config."""
    pipe = build_wan()
    torch.manual_seed(1)
    expert2 = diffusers.WanTransformer3DModel(
        patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=12, in_channels=16, out_channels=16,
        text_dim=32, freq_dim=256, ffn_dim=32, num_layers=2, cross_attn_norm=True, qk_norm="rms_norm_across_heads",
        rope_max_seq_len=32)
    return diffusers.WanPipeline(tokenizer=pipe.tokenizer, text_encoder=pipe.text_encoder, vae=pipe.vae,
                                 transformer=pipe.transformer, transformer_2=expert2, boundary_ratio=0.875,
                                 scheduler=pipe.scheduler)


def build_ltx():
    torch.manual_seed(0)
    transformer = diffusers.LTXVideoTransformer3DModel(
        in_channels=8, out_channels=8, patch_size=1, patch_size_t=1, num_attention_heads=4, attention_head_dim=8,
        cross_attention_dim=32, num_layers=1, caption_channels=32)
    vae = diffusers.AutoencoderKLLTXVideo(
        latent_channels=8, block_out_channels=(8, 8, 8, 8), spatio_temporal_scaling=(True, True, False, False),
        layers_per_block=(1, 1, 1, 1, 1), decoder_block_out_channels=(8, 8, 8, 8),
        decoder_layers_per_block=(1, 1, 1, 1, 1), decoder_spatio_temporal_scaling=(True, True, False, False),
        patch_size=1, patch_size_t=1, encoder_causal=True, decoder_causal=False)
    return diffusers.LTXPipeline(tokenizer=word_tokenizer(128), text_encoder=tiny_t5(), vae=vae,
                                 transformer=transformer, scheduler=diffusers.FlowMatchEulerDiscreteScheduler())


def build_mochi():
    torch.manual_seed(0)
    transformer = diffusers.MochiTransformer3DModel(
        patch_size=2, num_attention_heads=2, attention_head_dim=8, num_layers=2, pooled_projection_dim=16,
        in_channels=12, out_channels=None, qk_norm="rms_norm", text_embed_dim=32, time_embed_dim=4,
        activation_fn="swiglu", max_sequence_length=256)
    transformer.pos_frequencies.data = transformer.pos_frequencies.new_full(transformer.pos_frequencies.shape, 0)
    vae = diffusers.AutoencoderKLMochi(latent_channels=12, out_channels=3, encoder_block_out_channels=(32,) * 4,
                                       decoder_block_out_channels=(32,) * 4, layers_per_block=(1, 1, 1, 1, 1))
    return diffusers.MochiPipeline(tokenizer=word_tokenizer(256), text_encoder=tiny_t5(), vae=vae,
                                   transformer=transformer, scheduler=diffusers.FlowMatchEulerDiscreteScheduler())


def build_hunyuan():
    torch.manual_seed(0)
    transformer = diffusers.HunyuanVideoTransformer3DModel(
        in_channels=4, out_channels=4, num_attention_heads=2, attention_head_dim=10, num_layers=1,
        num_single_layers=1, num_refiner_layers=1, patch_size=1, patch_size_t=1, guidance_embeds=True,
        text_embed_dim=16, pooled_projection_dim=8, rope_axes_dim=(2, 4, 4))
    vae = diffusers.AutoencoderKLHunyuanVideo(
        in_channels=3, out_channels=3, latent_channels=4, down_block_types=("HunyuanVideoDownBlock3D",) * 4,
        up_block_types=("HunyuanVideoUpBlock3D",) * 4, block_out_channels=(8, 8, 8, 8), layers_per_block=1,
        act_fn="silu", norm_num_groups=4, scaling_factor=0.476986, spatial_compression_ratio=8,
        temporal_compression_ratio=4, mid_block_add_attention=True)
    llama = transformers.LlamaModel(transformers.LlamaConfig(
        bos_token_id=3, eos_token_id=1, pad_token_id=0, hidden_size=16, intermediate_size=37,
        num_attention_heads=4, num_hidden_layers=2, vocab_size=64, hidden_act="gelu"))
    return diffusers.HunyuanVideoPipeline(
        tokenizer=word_tokenizer(512, bos=True), text_encoder=llama, tokenizer_2=word_tokenizer(77),
        text_encoder_2=tiny_clip_text(hidden=8), vae=vae, transformer=transformer,
        scheduler=diffusers.FlowMatchEulerDiscreteScheduler(shift=7.0))


def build_cogvideox_i2v():
    torch.manual_seed(0)
    transformer = diffusers.CogVideoXTransformer3DModel(
        num_attention_heads=2, attention_head_dim=16, in_channels=8, out_channels=4, time_embed_dim=2,
        text_embed_dim=32, num_layers=1, sample_width=2, sample_height=2, sample_frames=49, patch_size=2,
        temporal_compression_ratio=4, max_text_seq_length=226, use_rotary_positional_embeddings=True,
        use_learned_positional_embeddings=True)
    vae = diffusers.AutoencoderKLCogVideoX(
        in_channels=3, out_channels=3, down_block_types=("CogVideoXDownBlock3D",) * 4,
        up_block_types=("CogVideoXUpBlock3D",) * 4, block_out_channels=(8, 8, 8, 8), latent_channels=4,
        layers_per_block=1, norm_num_groups=2, temporal_compression_ratio=4)
    return diffusers.CogVideoXImageToVideoPipeline(tokenizer=word_tokenizer(226), text_encoder=tiny_t5(), vae=vae,
                                                   transformer=transformer, scheduler=diffusers.DDIMScheduler())


def build_animatediff():
    torch.manual_seed(0)
    unet = diffusers.UNet2DConditionModel(
        block_out_channels=(32, 64), layers_per_block=2, sample_size=8, in_channels=4, out_channels=4,
        down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"), up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
        cross_attention_dim=32, norm_num_groups=2)
    vae = diffusers.AutoencoderKL(block_out_channels=[32, 64], in_channels=3, out_channels=3,
                                  down_block_types=["DownEncoderBlock2D"] * 2, up_block_types=["UpDecoderBlock2D"] * 2,
                                  latent_channels=4, norm_num_groups=2)
    motion = diffusers.MotionAdapter(block_out_channels=(32, 64), motion_layers_per_block=2, motion_norm_num_groups=2,
                                     motion_num_attention_heads=4)
    scheduler = diffusers.DDIMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="linear", clip_sample=False)
    return diffusers.AnimateDiffPipeline(unet=unet, motion_adapter=motion, vae=vae, text_encoder=tiny_clip_text(),
                                         tokenizer=word_tokenizer(77), scheduler=scheduler, feature_extractor=None,
                                         image_encoder=None)


def build_svd():
    torch.manual_seed(0)
    unet = diffusers.UNetSpatioTemporalConditionModel(
        block_out_channels=(32, 64), layers_per_block=2, sample_size=32, in_channels=8, out_channels=4,
        down_block_types=("CrossAttnDownBlockSpatioTemporal", "DownBlockSpatioTemporal"),
        up_block_types=("UpBlockSpatioTemporal", "CrossAttnUpBlockSpatioTemporal"), cross_attention_dim=32,
        num_attention_heads=8, projection_class_embeddings_input_dim=96, addition_time_embed_dim=32)
    scheduler = diffusers.EulerDiscreteScheduler(
        beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", interpolation_type="linear",
        num_train_timesteps=1000, prediction_type="v_prediction", sigma_max=700.0, sigma_min=0.002, steps_offset=1,
        timestep_spacing="leading", timestep_type="continuous", use_karras_sigmas=True)
    vae = diffusers.AutoencoderKLTemporalDecoder(block_out_channels=[32, 64], in_channels=3, out_channels=3,
                                                 down_block_types=["DownEncoderBlock2D"] * 2, latent_channels=4)
    torch.manual_seed(0)
    enc = transformers.CLIPVisionModelWithProjection(transformers.CLIPVisionConfig(
        hidden_size=32, projection_dim=32, num_hidden_layers=2, num_attention_heads=4, image_size=224,
        intermediate_size=37, patch_size=32))  # the pipeline resizes the condition image to 224 for CLIP
    return diffusers.StableVideoDiffusionPipeline(
        vae=vae, image_encoder=enc, unet=unet, scheduler=scheduler,
        feature_extractor=transformers.CLIPImageProcessor(crop_size=32, size=32))


CASES = {
    # name: (builder, size WxH that the tiny model accepts)
    "cogvideox-2b": (build_cogvideox, "16x16"),
    "wan2.1-t2v-1.3b": (build_wan, "16x16"),
    "ltx-video": (build_ltx, "32x32"),
    "mochi": (build_mochi, "16x16"),
    "hunyuanvideo": (build_hunyuan, "16x16"),
    "cogvideox-5b": (build_cogvideox, "16x16"),
    "wan2.1-t2v-14b": (build_wan, "16x16"),
    "wan2.2-t2v-a14b": (build_wan22, "16x16"),
    "cogvideox-5b-i2v": (build_cogvideox_i2v, "16x16"),
    "animatediff": (build_animatediff, "32x32"),
    "svd-xt": (build_svd, "32x32"),
}


def _suite(tmp_path: Path, image: Path | None = None) -> Path:
    p = tmp_path / "one.yaml"
    img = f", image: {image}" if image else ""
    p.write_text(f"suite: one\nsamples_per_prompt: 1\nprompts:\n  - {{id: p0, text: 'a red cat dance'{img}}}\n")
    return p


@pytest.mark.parametrize("name", [pytest.param(n, marks=[pytest.mark.slow] if n == "animatediff" else [])
                                  for n in sorted(CASES)])  # animatediff: the slowest; slow tier
def test_diffusers_adapter_end_to_end_with_declared_frames_and_fps(name, tmp_path, cli):
    from vgbench.reference_models.diffusers_adapters import SPECS

    build, size = CASES[name]
    folder = tmp_path / "pipe"
    build().save_pretrained(folder)
    spec = SPECS[name]
    image = None
    if spec.task == "i2v":
        from PIL import Image

        image = tmp_path / "first.png"
        Image.fromarray(np.random.default_rng(0).integers(0, 255, (48, 64, 3), dtype=np.uint8)).save(image)
    code, out, err = cli("run", "--model", name, "--model-arg", f"checkpoint={folder}", "--model-arg", "steps=2",
                         "--model-arg", "dtype=float32", "--model-arg", "device=cpu", "--size", size,
                         "--suite", _suite(tmp_path, image), "--out", tmp_path / "out", "--json", "--no-progress")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["generated"] == 1 and not doc["failed_generation"]
    video_file = next((tmp_path / "out").glob("*/videos/*.mp4"))
    v = read_video(video_file)
    assert v.num_frames == spec.frames and v.fps == pytest.approx(spec.fps)
    w, h = (int(x) for x in size.split("x"))
    assert (v.width, v.height) == (w, h)
    run = json.loads(next((tmp_path / "out").glob("*/run.json")).read_text())
    settings = run["settings"]["adapter_settings"]
    assert settings["steps"] == 2 and settings["checkpoint"] == str(folder) and settings["pipeline"] == spec.pipeline


def test_missing_model_fails_fast_offline(tmp_path, cli, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    code, out, err = cli("run", "--model", "mochi", "--suite", _suite(tmp_path), "--out", tmp_path / "out",
                         "--size", "16x16", "--no-progress")
    assert code == 3
    assert "huggingface-cli download genmo/mochi-1-preview" in err and "checkpoint=" in err


def test_frame_rules_are_checked_before_generation(tmp_path, cli):
    code, _, err = cli("run", "--model", "wan2.1-t2v-1.3b", "--frames", "80", "--suite", _suite(tmp_path),
                       "--out", tmp_path / "out")
    assert code == 3 and "4k+1" in err
    code, _, err = cli("run", "--model", "cogvideox-2b", "--frames", "48", "--suite", _suite(tmp_path),
                       "--out", tmp_path / "out")
    assert code == 3 and "fixed:49" in err


def test_reference_settings_not_pipeline_defaults():
    from vgbench.reference_models.diffusers_adapters import SPECS, DiffusersGenerator

    assert SPECS["mochi"].frames == 163  # the pipeline default is 19
    g = DiffusersGenerator("ltx-video")
    assert g.capabilities.default_fps == 25 and g.capabilities.frame_rule == "8k+1"
    assert DiffusersGenerator("ltx-video", steps="7").settings()["steps"] == 7
    assert DiffusersGenerator("ltx-video", offload="model").settings() == g.settings()  # memory options: same ids
