"""Tag2Text test files: BERT vocabularies, the official and a tiny configuration, and seeded checkpoints in the
official layout of ``tag2text_swin_14m.pth``.

* :func:`vocab` — a BERT ``vocab.txt``: the special tokens at bert-base-uncased's ids (``[PAD]`` 0, ``[unused0..98]``,
  ``[UNK]`` 100, ``[CLS]`` 101, ``[SEP]`` 102, ``[MASK]`` 103), then the words the captioner meets here (the prompt
  "a picture of", ``|``, letters and ``##`` letters, the words of Tag2Text's tag list in order, a few scene words),
  filled up to ``size`` with ``[unusedN]``. ``size`` 30522 is the real vocabulary's size (so the checkpoint layout is
  the official one); the tiny configuration uses 1000.
* :data:`CONFIGS` — ``"full"`` is VBench's (``config_swinB_384.json``, ``med_config.json``, ``q2l_config.json``);
  ``"tiny"`` keeps every fixed width of VBench's code (BERT hidden 768, 3429 tags, 384-px input, window 12) and
  shrinks depths, the Swin width and the feed-forward width.
* :func:`checkpoint` — ``{"model": state_dict}`` with every tensor drawn by :func:`golden.seeded.seeded_state_dict`
  from the layout recorded from VBench's model (``tests/golden/layouts/tag2text_<kind>.json``; buffers the model
  computes — ``relative_position_index``, ``attn_mask``, ``position_ids`` — left out), with the ties of the model
  made true in the file (the tag encoder's lowest layers are the tagging head's; the LM head's decoder is the word
  embedding) and the tag classifier scaled so that some tags pass the 0.7 threshold.
"""
from __future__ import annotations

import re
import string
from pathlib import Path

#: words every vocabulary holds besides the tag list's (the prompt, the separator, scene words of the goldens)
BASE_WORDS = ["a", "picture", "of", "|", "street", "road", "kitchen", "beach", "alley", "forest", "bridge"]

SWIN = {
    "full": {"vision_width": 1024, "image_res": 384, "window_size": 12, "embed_dim": 128, "depths": [2, 2, 18, 2],
             "num_heads": [4, 8, 16, 32]},
    "tiny": {"vision_width": 256, "image_res": 384, "window_size": 12, "embed_dim": 32, "depths": [2, 2, 2, 2],
             "num_heads": [1, 2, 4, 8]},
}
VOCAB_SIZE = {"full": 30522, "tiny": 1000}
_BERT = {"architectures": ["BertModel"], "attention_probs_dropout_prob": 0.1, "hidden_act": "gelu",
         "hidden_dropout_prob": 0.1, "hidden_size": 768, "initializer_range": 0.02, "layer_norm_eps": 1e-12,
         "max_position_embeddings": 512, "model_type": "bert", "pad_token_id": 0, "type_vocab_size": 2,
         "encoder_width": 768, "add_cross_attention": True}
MED = {
    "full": {**_BERT, "intermediate_size": 3072, "num_attention_heads": 12, "num_hidden_layers": 12,
             "vocab_size": 30524},
    "tiny": {**_BERT, "intermediate_size": 64, "num_attention_heads": 12, "num_hidden_layers": 1, "vocab_size": 1002},
}
Q2L = {
    "full": {**_BERT, "intermediate_size": 3072, "num_attention_heads": 4, "num_hidden_layers": 2,
             "vocab_size": 30522, "add_tag_cross_attention": False},
    "tiny": {**_BERT, "intermediate_size": 64, "num_attention_heads": 4, "num_hidden_layers": 1, "vocab_size": 1000,
             "add_tag_cross_attention": False},
}
#: the tag classifier's weights are multiplied by this, so that a few of 3429 sigmoid scores pass 0.7
TAG_SCALE = 20.0
SEED = 0


def _tags() -> list[str]:
    """Tag2Text's 3429 tags as vgbench ships them (read from the source tree, so the scratch driver that runs VBench's
    code needs no vgbench install)."""
    root = Path(__file__).resolve().parents[2]
    return (root / "metrics" / "vbench" / "data" / "tag2text_tags.txt").read_text(encoding="utf-8").splitlines()


def vocab(size: int) -> list[str]:
    """The vocabulary lines (see the module docstring)."""
    tokens = ["[PAD]"] + [f"[unused{i}]" for i in range(99)] + ["[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    seen = set(tokens)

    def add(t: str):
        if t not in seen and len(tokens) < size:
            seen.add(t)
            tokens.append(t)

    for w in BASE_WORDS:
        add(w)
    for c in string.ascii_lowercase + string.digits:
        add(c)
        add("##" + c)
    for c in string.punctuation:
        add(c)
    for tag in _tags():
        for w in re.findall(r"\w+|[^\w\s]", tag.lower()):
            add(w)
    n = 99
    while len(tokens) < size:
        add(f"[unused{n}]")
        n += 1
    return tokens


def write_vocab(path: str | Path, kind: str) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(vocab(VOCAB_SIZE[kind])) + "\n", encoding="utf-8")
    return path


def checkpoint(path: str | Path, kind: str, seed: int = SEED) -> tuple[Path, str]:
    """Write the seeded ``{"model": state_dict}`` checkpoint of configuration ``kind``; returns (path, digest)."""
    from golden.seeded import load_layout, save, seeded_state_dict, state_dict_digest

    layout = load_layout(f"tag2text_{kind}")
    sd = seeded_state_dict(layout, seed)
    for k in layout:
        if k.startswith("vision_multi.encoder.layer."):
            sd["tag_encoder." + k[len("vision_multi."):]] = sd[k]
    sd["text_decoder.cls.predictions.decoder.weight"] = sd["text_decoder.bert.embeddings.word_embeddings.weight"]
    sd["text_decoder.cls.predictions.decoder.bias"] = sd["text_decoder.cls.predictions.bias"]
    sd["fc.W"] = sd["fc.W"] * TAG_SCALE
    return save(sd, path, wrap="model"), state_dict_digest(sd)
