"""Tag2Text captioning (``tag2text_swin_14m``) in plain PyTorch, as VBench's ``scene`` dimension runs it.

Reference: Vchitect/VBench@45e79ec14e69 ``vbench/third_party/tag2Text/`` (``tag2text.py::Tag2Text_Caption``,
``med.py``, ``swin_transformer.py``) with transformers 4.33.2 (VBench's pin) for the beam search; checkpoint
``tag2text_swin_14m.pth`` of the recognize-anything release (``{"model": state_dict}``, the tagging head under
``vision_multi.*``). The module names below are the checkpoint's keys, so the file loads strictly.

The network, for a batch of ``[B, 3, 384, 384]`` float32 images (ImageNet mean/std normalised):

1. **Swin-B** (patch 4, window 12, depths 2-2-18-2, widths 128…1024, shifted windows with the −100 mask, LayerNorm
   eps 1e-5) → ``[B, 1 + 144, 1024]``: the mean token first, then the 12×12 tokens.
2. **Tagging head** (``vision_multi``: 2 BERT layers of cross-attention only, 4 heads): the 3429 label embeddings
   attend to the image tokens; ``fc`` (a per-class dot product + bias) gives 3429 logits; a tag is on when
   ``sigmoid > 0.7``; tags 127, 3351, 3265, 3338, 3355, 3359 (quarter, two, three, four, five, one) are always off.
   The tags of an image are joined with ``" | "`` in class order.
3. **Tag encoder** (BERT, 12 layers, cross-attention to the image tokens): the tags tokenized to 40 tokens (padded,
   truncated; the first token replaced by ``[ENC]``).
4. **Caption decoder** (BERT LM, 12 layers, causal, cross-attention to the tag encoder's 40 states, pads included):
   the prompt ``[DEC] a picture of`` and beam search, 3 beams, ``max_length`` 30 and ``min_length`` 10 tokens
   (prompt included), length penalty 1, no early stopping: transformers 4.33's ``BeamSearchScorer`` rules, restated in
   :func:`beam_search`. The caption is the decoded text after ``"a picture of "``.

**What VBench's code actually computes for a batch** (kept, because that is what its numbers are): the tag encoder runs
on the batch repeated 3 times (``repeat_interleave``), and transformers' ``generate`` repeats the decoder's
``encoder_hidden_states`` 3 times again, after which ``med.py``'s cross-attention keeps the first rows only. So the
caption of image ``i`` of a batch is the caption computed from image ``i // 3``'s tags and tag states (for VBench's 16
frames: frames 0–5 are captioned, each three times in a row), and the tags VBench returns are shifted the same way.
:meth:`Tag2Text.generate` reproduces this and computes each source image once.

Errors: :func:`load_tag2text` raises ``ValueError`` naming the keys when the file is not this layout.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

from vgbench.metrics.backbones.layers import Mlp

#: tag indices VBench's Tag2Text never emits ("quarter", "two", "three", "four", "five", "one")
DELETE_TAG_INDEX = (127, 3351, 3265, 3338, 3355, 3359)
PROMPT = "a picture of "


def tag_list() -> list[str]:
    """The 3429 tag names by class index (VBench's ``tag_class.py::tra_array``, shipped as
    ``vgbench/metrics/vbench/data/tag2text_tags.txt``)."""
    path = Path(__file__).resolve().parents[1] / "vbench" / "data" / "tag2text_tags.txt"
    return path.read_text(encoding="utf-8").splitlines()


@dataclass(frozen=True)
class Tag2TextConfig:
    """Sizes of the network; the defaults are ``tag2text_swin_14m`` at 384 px (VBench's scene)."""

    image_size: int = 384
    embed_dim: int = 128
    depths: tuple[int, ...] = (2, 2, 18, 2)
    num_heads: tuple[int, ...] = (4, 8, 16, 32)
    window_size: int = 12
    hidden: int = 768
    text_layers: int = 12
    text_heads: int = 12
    intermediate: int = 3072
    vocab_size: int = 30524
    max_positions: int = 512
    tag_layers: int = 2
    tag_heads: int = 4
    num_tags: int = 3429
    threshold: float = 0.7
    num_beams: int = 3
    max_length: int = 30
    min_length: int = 10
    tag_max_tokens: int = 40
    delete_tags: tuple[int, ...] = field(default=DELETE_TAG_INDEX)

    @property
    def vision_width(self) -> int:
        return self.embed_dim * 2 ** (len(self.depths) - 1)

    @classmethod
    def from_state_dict(cls, sd: dict) -> "Tag2TextConfig":
        """The sizes a checkpoint's shapes give (head counts other than the Swin's are not in the shapes: the official
        12 and 4 are kept). Raises ValueError when the keys are not Tag2Text's."""
        try:
            stages = sorted({int(k.split(".")[2]) for k in sd if k.startswith("visual_encoder.layers.")})
            depths = tuple(len({k.split(".")[4] for k in sd if k.startswith(f"visual_encoder.layers.{i}.blocks.")})
                           for i in stages)
            heads = tuple(sd[f"visual_encoder.layers.{i}.blocks.0.attn.relative_position_bias_table"].shape[1]
                          for i in stages)
            table = sd["visual_encoder.layers.0.blocks.0.attn.relative_position_bias_table"].shape[0]

            def layers(prefix):
                return len({k[len(prefix):].split(".")[0] for k in sd if k.startswith(prefix)})

            return cls(embed_dim=sd["visual_encoder.patch_embed.proj.weight"].shape[0], depths=depths,
                       num_heads=heads, window_size=(int(round(table ** 0.5)) + 1) // 2,
                       hidden=sd["label_embed.weight"].shape[1],
                       text_layers=layers("text_decoder.bert.encoder.layer."),
                       intermediate=sd["text_decoder.bert.encoder.layer.0.intermediate.dense.weight"].shape[0],
                       vocab_size=sd["text_decoder.bert.embeddings.word_embeddings.weight"].shape[0],
                       tag_layers=layers("vision_multi.encoder.layer."), num_tags=sd["label_embed.weight"].shape[0])
        except (KeyError, IndexError, AttributeError) as e:
            raise ValueError(f"not a Tag2Text state_dict (no {e})") from None


# ---- Swin transformer ----------------------------------------------------------------------------------------------
def _windows(x: torch.Tensor, w: int) -> torch.Tensor:
    b, h, wd, c = x.shape
    x = x.view(b, h // w, w, wd // w, w, c)
    return x.permute(0, 1, 3, 2, 4, 5).contiguous().view(-1, w, w, c)


def _unwindows(x: torch.Tensor, w: int, h: int, wd: int) -> torch.Tensor:
    b = int(x.shape[0] / (h * wd / w / w))
    x = x.view(b, h // w, wd // w, w, w, -1)
    return x.permute(0, 1, 3, 2, 4, 5).contiguous().view(b, h, wd, -1)


class _WindowAttention(nn.Module):
    def __init__(self, dim: int, window: int, heads: int):
        super().__init__()
        self.heads, self.window = heads, window
        self.scale = (dim // heads) ** -0.5
        self.relative_position_bias_table = nn.Parameter(torch.zeros((2 * window - 1) ** 2, heads))
        ys, xs = torch.meshgrid(torch.arange(window), torch.arange(window), indexing="ij")
        flat = torch.stack([ys.flatten(), xs.flatten()])
        rel = (flat[:, :, None] - flat[:, None, :]).permute(1, 2, 0) + (window - 1)
        self.register_buffer("relative_position_index", rel[..., 0] * (2 * window - 1) + rel[..., 1],
                             persistent=False)
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        b, n, c = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        attn = (q * self.scale) @ k.transpose(-2, -1)
        bias = self.relative_position_bias_table[self.relative_position_index.view(-1)].view(n, n, -1)
        attn = attn + bias.permute(2, 0, 1).contiguous().unsqueeze(0)
        if mask is not None:
            nw = mask.shape[0]
            attn = (attn.view(b // nw, nw, self.heads, n, n) + mask.unsqueeze(1).unsqueeze(0)).view(-1, self.heads, n, n)
        attn = attn.softmax(-1)
        return self.proj((attn @ v).transpose(1, 2).reshape(b, n, c))


class _SwinBlock(nn.Module):
    def __init__(self, dim: int, resolution: int, heads: int, window: int, shift: int):
        super().__init__()
        if resolution <= window:  # the last stage: one window, no shift
            window, shift = resolution, 0
        self.resolution, self.window, self.shift = resolution, window, shift
        self.norm1 = nn.LayerNorm(dim)
        self.attn = _WindowAttention(dim, window, heads)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = Mlp(dim, 4 * dim)
        mask = None
        if shift:
            img = torch.zeros(1, resolution, resolution, 1)
            cuts = (slice(0, -window), slice(-window, -shift), slice(-shift, None))
            for n, (hs, ws) in enumerate((hs, ws) for hs in cuts for ws in cuts):
                img[:, hs, ws, :] = n
            wins = _windows(img, window).view(-1, window * window)
            diff = wins.unsqueeze(1) - wins.unsqueeze(2)
            mask = diff.masked_fill(diff != 0, -100.0).masked_fill(diff == 0, 0.0)
        self.register_buffer("attn_mask", mask, persistent=False)

    def forward(self, x):
        r, (b, _, c) = self.resolution, x.shape
        y = self.norm1(x).view(b, r, r, c)
        if self.shift:
            y = torch.roll(y, shifts=(-self.shift, -self.shift), dims=(1, 2))
        y = self.attn(_windows(y, self.window).view(-1, self.window * self.window, c), self.attn_mask)
        y = _unwindows(y.view(-1, self.window, self.window, c), self.window, r, r)
        if self.shift:
            y = torch.roll(y, shifts=(self.shift, self.shift), dims=(1, 2))
        x = x + y.reshape(b, r * r, c)
        return x + self.mlp(self.norm2(x))


class _PatchMerging(nn.Module):
    def __init__(self, resolution: int, dim: int):
        super().__init__()
        self.resolution = resolution
        self.reduction = nn.Linear(4 * dim, 2 * dim, bias=False)
        self.norm = nn.LayerNorm(4 * dim)

    def forward(self, x):
        b, _, c = x.shape
        x = x.view(b, self.resolution, self.resolution, c)
        x = torch.cat([x[:, 0::2, 0::2], x[:, 1::2, 0::2], x[:, 0::2, 1::2], x[:, 1::2, 1::2]], -1)
        return self.reduction(self.norm(x.view(b, -1, 4 * c)))


class _Stage(nn.Module):
    def __init__(self, dim, resolution, depth, heads, window, downsample: bool):
        super().__init__()
        self.blocks = nn.ModuleList(_SwinBlock(dim, resolution, heads, window, 0 if i % 2 == 0 else window // 2)
                                    for i in range(depth))
        self.downsample = _PatchMerging(resolution, dim) if downsample else None

    def forward(self, x):
        for blk in self.blocks:
            x = blk(x)
        return self.downsample(x) if self.downsample is not None else x


class _PatchEmbed(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.proj = nn.Conv2d(3, dim, kernel_size=4, stride=4)
        self.norm = nn.LayerNorm(dim)

    def forward(self, x):
        return self.norm(self.proj(x).flatten(2).transpose(1, 2))


class SwinEncoder(nn.Module):
    """Swin transformer → ``[B, 1 + L, C]``: the mean of the final tokens, then the tokens (``swin_transformer.py``)."""

    def __init__(self, cfg: Tag2TextConfig):
        super().__init__()
        self.patch_embed = _PatchEmbed(cfg.embed_dim)
        res = cfg.image_size // 4
        n = len(cfg.depths)
        self.layers = nn.ModuleList(
            _Stage(cfg.embed_dim * 2 ** i, res // 2 ** i, cfg.depths[i], cfg.num_heads[i], cfg.window_size, i < n - 1)
            for i in range(n))
        self.norm = nn.LayerNorm(cfg.vision_width)

    def forward(self, x):
        x = self.patch_embed(x)
        for layer in self.layers:
            x = layer(x)
        x = self.norm(x)
        return torch.cat([x.mean(1, keepdim=True), x], dim=1)


# ---- BERT pieces (med.py) ------------------------------------------------------------------------------------------
def _additive(mask: torch.Tensor) -> torch.Tensor:
    """med.py's extended mask: ``(1 − mask) · −10000`` (kept instead of −inf: that is what the numbers saw)."""
    return (1.0 - mask) * -10000.0


class _SelfAttention(nn.Module):
    def __init__(self, hidden: int, heads: int, kv_width: int):
        super().__init__()
        self.heads, self.head_dim = heads, hidden // heads
        self.query = nn.Linear(hidden, hidden)
        self.key = nn.Linear(kv_width, hidden)
        self.value = nn.Linear(kv_width, hidden)

    def split(self, x):
        return x.view(*x.shape[:-1], self.heads, self.head_dim).permute(0, 2, 1, 3)

    def kv(self, states):
        return self.split(self.key(states)), self.split(self.value(states))

    def forward(self, x, mask, kv=None):
        k, v = kv if kv is not None else self.kv(x)
        scores = self.split(self.query(x)) @ k.transpose(-1, -2) / math.sqrt(self.head_dim)
        if mask is not None:
            scores = scores + mask
        ctx = (scores.softmax(-1) @ v).permute(0, 2, 1, 3).contiguous()
        return ctx.view(*ctx.shape[:-2], -1)


class _Dense(nn.Module):
    """dense → (+ residual) → LayerNorm (``BertSelfOutput`` / ``BertOutput``)."""

    def __init__(self, d_in: int, d_out: int):
        super().__init__()
        self.dense = nn.Linear(d_in, d_out)
        self.LayerNorm = nn.LayerNorm(d_out, eps=1e-12)

    def forward(self, x, residual):
        return self.LayerNorm(self.dense(x) + residual)


class _Attention(nn.Module):
    def __init__(self, hidden, heads, kv_width):
        super().__init__()
        self.self = _SelfAttention(hidden, heads, kv_width)
        self.output = _Dense(hidden, hidden)

    def forward(self, x, mask, kv=None):
        return self.output(self.self(x, mask, kv), x)


class _Intermediate(nn.Module):
    def __init__(self, hidden, inter):
        super().__init__()
        self.dense = nn.Linear(hidden, inter)

    def forward(self, x):
        return F.gelu(self.dense(x))


class _BertLayer(nn.Module):
    def __init__(self, hidden, heads, inter, encoder_width, self_attention: bool = True):
        super().__init__()
        if self_attention:
            self.attention = _Attention(hidden, heads, hidden)
        self.crossattention = _Attention(hidden, heads, encoder_width)
        self.intermediate = _Intermediate(hidden, inter)
        self.output = _Dense(inter, hidden)

    def forward(self, x, mask, enc_kv, enc_mask):
        if hasattr(self, "attention"):
            x = self.attention(x, mask)
        x = self.crossattention(x, enc_mask, enc_kv)
        return self.output(self.intermediate(x), x)


class _Encoder(nn.Module):
    def __init__(self, n, hidden, heads, inter, encoder_width, self_attention=True):
        super().__init__()
        self.layer = nn.ModuleList(_BertLayer(hidden, heads, inter, encoder_width, self_attention) for _ in range(n))

    def cross_kv(self, states):
        """Each layer's cross-attention keys and values of ``states`` (computed once, reused every decoding step)."""
        return [lyr.crossattention.self.kv(states) for lyr in self.layer]

    def forward(self, x, mask, enc_kv, enc_mask):
        for lyr, kv in zip(self.layer, enc_kv):
            x = lyr(x, mask, kv, enc_mask)
        return x


class _Embeddings(nn.Module):
    def __init__(self, vocab, hidden, positions):
        super().__init__()
        self.word_embeddings = nn.Embedding(vocab, hidden, padding_idx=0)
        self.position_embeddings = nn.Embedding(positions, hidden)
        self.LayerNorm = nn.LayerNorm(hidden, eps=1e-12)

    def forward(self, ids):
        pos = torch.arange(ids.shape[1], device=ids.device).unsqueeze(0)
        return self.LayerNorm(self.word_embeddings(ids) + self.position_embeddings(pos))


class _Bert(nn.Module):
    def __init__(self, cfg: Tag2TextConfig, encoder_width: int):
        super().__init__()
        self.embeddings = _Embeddings(cfg.vocab_size, cfg.hidden, cfg.max_positions)
        self.encoder = _Encoder(cfg.text_layers, cfg.hidden, cfg.text_heads, cfg.intermediate, encoder_width)


class _TagHead(nn.Module):
    """``vision_multi``: cross-attention-only BERT layers (Query2Label)."""

    def __init__(self, cfg: Tag2TextConfig, encoder_width: int):
        super().__init__()
        self.encoder = _Encoder(cfg.tag_layers, cfg.hidden, cfg.tag_heads, cfg.intermediate, encoder_width, False)


class _Transform(nn.Module):
    def __init__(self, hidden):
        super().__init__()
        self.dense = nn.Linear(hidden, hidden)
        self.LayerNorm = nn.LayerNorm(hidden, eps=1e-12)

    def forward(self, x):
        return self.LayerNorm(F.gelu(self.dense(x)))


class _Predictions(nn.Module):
    def __init__(self, hidden, vocab):
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(vocab))
        self.transform = _Transform(hidden)
        self.decoder = nn.Linear(hidden, vocab)
        self.decoder.bias = self.bias

    def forward(self, x):
        return self.decoder(self.transform(x))


class _Cls(nn.Module):
    def __init__(self, hidden, vocab):
        super().__init__()
        self.predictions = _Predictions(hidden, vocab)


class _LMHead(nn.Module):
    def __init__(self, cfg: Tag2TextConfig):
        super().__init__()
        self.bert = _Bert(cfg, cfg.hidden)
        self.cls = _Cls(cfg.hidden, cfg.vocab_size)
        self.cls.predictions.decoder.weight = self.bert.embeddings.word_embeddings.weight


class _GroupWiseLinear(nn.Module):
    def __init__(self, num_class: int, hidden: int):
        super().__init__()
        self.W = nn.Parameter(torch.zeros(1, num_class, hidden))
        self.b = nn.Parameter(torch.zeros(1, num_class))

    def forward(self, x):
        return (self.W * x).sum(-1) + self.b


# ---- beam search (transformers 4.33 BeamSearchScorer, restated) -----------------------------------------------------
class _Hypotheses:
    """The n best finished hypotheses of one input; score = sum of log-probabilities / length (tokens before EOS)."""

    def __init__(self, n: int):
        self.n, self.beams, self.worst = n, [], 1e9

    def add(self, tokens: list[int], sum_logprobs: float):
        score = sum_logprobs / len(tokens)
        if len(self.beams) < self.n or score > self.worst:
            self.beams.append((score, tokens))
            if len(self.beams) > self.n:
                ranked = sorted((s, i) for i, (s, _) in enumerate(self.beams))
                del self.beams[ranked[0][1]]
                self.worst = ranked[1][0]
            else:
                self.worst = min(score, self.worst)

    def done(self, best_sum_logprobs: float, cur_len: int) -> bool:
        return len(self.beams) >= self.n and self.worst >= best_sum_logprobs / cur_len

    def best(self) -> list[int]:
        return sorted(self.beams, key=lambda b: b[0])[-1][1]


def beam_search(step, prompt: torch.Tensor, num_beams: int, max_length: int, min_length: int, eos: int) -> list[list[int]]:
    """Beam search as transformers 4.33's ``generate(num_beams=n)`` with a min-length processor, length penalty 1 and
    ``early_stopping=False``.

    Args:
        step: ``step(ids [N·n, t], items [N·n]) → logits [N·n, V]`` of the next token (``items``: which input each row
            belongs to).
        prompt: ``[N, t0]`` int64 prompt ids.
    Returns:
        per input, the token ids of its best hypothesis (prompt included, EOS excluded).
    """
    n_items, n = prompt.shape[0], num_beams
    ids = prompt.repeat_interleave(n, 0)
    items = torch.arange(n_items).repeat_interleave(n)
    scores = torch.zeros(n_items, n, dtype=torch.float32)
    scores[:, 1:] = -1e9
    scores = scores.view(-1)
    hyps = [_Hypotheses(n) for _ in range(n_items)]
    alive = list(range(n_items))  # inputs still being decoded, in order
    while True:
        cur = ids.shape[1]
        logp = F.log_softmax(step(ids, items), dim=-1)
        if cur < min_length:
            logp[:, eos] = -float("inf")
        vocab = logp.shape[-1]
        cand = (logp + scores[:, None]).view(len(alive), n * vocab)
        top, idx = torch.topk(cand, 2 * n, dim=1, largest=True, sorted=True)
        beam_of, token_of = torch.div(idx, vocab, rounding_mode="floor"), idx % vocab
        new_rows, new_tokens, new_scores, still = [], [], [], []
        for a, item in enumerate(alive):
            kept = 0
            for rank in range(2 * n):
                tok, sc, row = int(token_of[a, rank]), top[a, rank], a * n + int(beam_of[a, rank])
                if tok == eos:
                    if rank < n:
                        hyps[item].add(ids[row].tolist(), float(sc))
                else:
                    new_rows.append(row)
                    new_tokens.append(tok)
                    new_scores.append(sc)
                    kept += 1
                if kept == n:
                    break
            if not hyps[item].done(float(top[a].max()), cur + 1):
                still.append(a)
        ids = torch.cat([ids[new_rows], torch.tensor(new_tokens, dtype=ids.dtype).unsqueeze(1)], 1)
        scores = torch.stack(new_scores)
        if ids.shape[1] >= max_length or not still:
            # finalize: every beam of an unfinished input becomes a hypothesis
            for a, item in enumerate(alive):
                if a in still:
                    for b in range(n):
                        hyps[item].add(ids[a * n + b].tolist(), float(scores[a * n + b]))
            break
        keep = [a * n + b for a in still for b in range(n)]
        alive = [alive[a] for a in still]
        ids, scores, items = ids[keep], scores[keep], items[keep]
    return [h.best() for h in hyps]


# ---- the model -----------------------------------------------------------------------------------------------------
class Tag2Text(nn.Module):
    """Tag2Text captioning model (see the module docstring); state_dict keys are ``tag2text_swin_14m.pth``'s."""

    def __init__(self, cfg: Tag2TextConfig | None = None):
        super().__init__()
        cfg = cfg or Tag2TextConfig()
        self.cfg = cfg
        self.visual_encoder = SwinEncoder(cfg)
        self.text_decoder = _LMHead(cfg)
        self.tag_encoder = _Bert(cfg, cfg.vision_width)
        self.vision_multi = _TagHead(cfg, cfg.vision_width)
        self.label_embed = nn.Embedding(cfg.num_tags, cfg.hidden)
        self.fc = _GroupWiseLinear(cfg.num_tags, cfg.hidden)
        # the tag encoder's lowest layers are the tagging head's (tie_encoder_decoder_weights in VBench's code)
        for enc, dec in zip(self.tag_encoder.encoder.layer, self.vision_multi.encoder.layer):
            for name in ("crossattention", "intermediate", "output"):
                for pn, p in getattr(dec, name).named_parameters():
                    _set(getattr(enc, name), pn, p)

    def tag_logits(self, image_embeds: torch.Tensor) -> torch.Tensor:
        """``[B, 1 + L, C]`` image tokens → ``[B, num_tags]`` tag logits."""
        q = self.label_embed.weight.unsqueeze(0).repeat(image_embeds.shape[0], 1, 1)
        # all-ones masks: the additive masks are 0 (VBench adds them; adding 0 changes nothing)
        return self.fc(self.vision_multi.encoder(q, None, self.vision_multi.encoder.cross_kv(image_embeds), None))

    def tags(self, logits: torch.Tensor, names: list[str]) -> list[str]:
        on = torch.sigmoid(logits) > self.cfg.threshold
        on[:, list(self.cfg.delete_tags)] = False
        return [" | ".join(names[i] for i in torch.nonzero(row).flatten().tolist()) for row in on.cpu()]

    def encode_tags(self, ids: torch.Tensor, mask: torch.Tensor, image_embeds: torch.Tensor) -> torch.Tensor:
        """Tag encoder: ``[B, 40]`` ids and attention mask → ``[B, 40, hidden]``."""
        x = self.tag_encoder.embeddings(ids)
        m = _additive(mask[:, None, None, :].to(x.dtype))
        return self.tag_encoder.encoder(x, m, self.tag_encoder.encoder.cross_kv(image_embeds), None)

    def decoder_step(self, ids: torch.Tensor, enc_kv: list) -> torch.Tensor:
        """Next-token logits ``[N, V]`` for ids ``[N, t]`` (causal, the whole sequence recomputed as in VBench)."""
        bert = self.text_decoder.bert
        x = bert.embeddings(ids)
        t = ids.shape[1]
        causal = torch.ones(t, t, device=ids.device).tril()
        x = bert.encoder(x, _additive(causal)[None, None].to(x.dtype), enc_kv, None)
        return self.text_decoder.cls.predictions(x[:, -1])

    @torch.no_grad()
    def generate(self, images: torch.Tensor, tokenizer, names: list[str]) -> tuple[list[str], list[str]]:
        """VBench's ``model.generate(images, tag_input=None, return_tag_predict=True)``.

        Args:
            images: ``[B, 3, S, S]`` float32, ImageNet mean/std normalised (S = ``cfg.image_size``).
            tokenizer: bert-base-uncased's with ``[DEC]`` (bos) and ``[ENC]`` added (:func:`make_tokenizer`).
            names: the tag names by class index (:func:`tag_list`).
        Returns:
            (captions, tags), one each per image; image ``i`` gets those computed from image ``i // num_beams``
            (the module docstring says why), so only those images are run.
        """
        cfg, n = self.cfg, self.cfg.num_beams
        dev = images.device
        src = sorted({i // n for i in range(images.shape[0])})
        emb = self.visual_encoder(images[src])
        tags = self.tags(self.tag_logits(emb), names)
        tok = tokenizer(tags, padding="max_length", truncation=True, max_length=cfg.tag_max_tokens,
                        return_tensors="pt")
        ids = tok.input_ids.to(dev)
        ids[:, 0] = tokenizer.convert_tokens_to_ids("[ENC]")
        states = self.encode_tags(ids, tok.attention_mask.to(dev), emb)
        kv = self.text_decoder.bert.encoder.cross_kv(states)
        prompt = tokenizer([PROMPT] * len(src), return_tensors="pt").input_ids.to(dev)
        prompt[:, 0] = tokenizer.bos_token_id
        prompt = prompt[:, :-1]

        def step(seq, items):
            items = items.to(dev)
            return self.decoder_step(seq.to(dev), [(k[items], v[items]) for k, v in kv]).float().cpu()

        seqs = beam_search(step, prompt.cpu(), n, cfg.max_length, cfg.min_length, tokenizer.sep_token_id)
        captions = [tokenizer.decode(s, skip_special_tokens=True)[len(PROMPT):] for s in seqs]
        return [captions[i // n] for i in range(images.shape[0])], [tags[i // n] for i in range(images.shape[0])]


def make_tokenizer(vocab_path: str | Path):
    """bert-base-uncased's WordPiece tokenizer from its ``vocab.txt``, with Tag2Text's ``[DEC]`` (bos) and ``[ENC]``
    tokens added after the vocabulary (ids 30522 and 30523 for the real file), as VBench's ``init_tokenizer``."""
    import transformers
    from transformers import BertTokenizer

    if int(transformers.__version__.split(".")[0]) >= 5:
        lines = Path(vocab_path).read_text(encoding="utf-8").splitlines()
        tok = BertTokenizer(vocab={t: i for i, t in enumerate(lines)}, do_lower_case=True)
    else:
        tok = BertTokenizer(vocab_file=str(vocab_path), do_lower_case=True)
    tok.add_special_tokens({"bos_token": "[DEC]"})
    tok.add_special_tokens({"additional_special_tokens": ["[ENC]"]})
    return tok


def _set(module: nn.Module, dotted: str, p: nn.Parameter):
    *path, leaf = dotted.split(".")
    for part in path:
        module = getattr(module, part)
    setattr(module, leaf, p)


#: keys of the official file that are buffers the model computes itself (VBench's loader drops them too)
_COMPUTED = ("relative_position_index", "attn_mask", "position_ids")


def load_tag2text(model: Tag2Text, state: dict | str | Path) -> Tag2Text:
    """Load ``tag2text_swin_14m.pth`` (``{"model": state_dict}``) strictly: every parameter of the model must be in the
    file with its shape, and the file may hold nothing else but the buffers the model computes
    (``relative_position_index``, ``attn_mask``, ``position_ids``). The relative position tables must be for window 12
    (VBench would interpolate other sizes with scipy's removed ``interp2d``).

    Raises:
        ValueError: missing, unexpected or mis-shaped keys (named).
    """
    if not isinstance(state, dict):
        from vgbench.metrics.backbones.checkpoint import read_state_dict

        state = read_state_dict(state)
    sd = state["model"] if isinstance(state.get("model"), dict) else state
    sd = {k: v for k, v in sd.items() if not k.endswith(_COMPUTED)}
    own = model.state_dict()
    missing = sorted(set(own) - set(sd))
    unexpected = sorted(set(sd) - set(own))
    shapes = sorted(k for k in set(own) & set(sd) if tuple(own[k].shape) != tuple(sd[k].shape))
    if missing or unexpected or shapes:
        raise ValueError("not a tag2text_swin_14m state_dict: "
                         + "; ".join(f"{what} {keys[:5]}{' …' if len(keys) > 5 else ''}" for what, keys in
                                     (("missing", missing), ("unexpected", unexpected), ("shape differs", shapes))
                                     if keys))
    model.load_state_dict(sd, strict=True)
    return model
