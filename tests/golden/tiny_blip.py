"""Tiny BLIP models of the real transformers classes with seeded weights, saved the way the hub folders are.

``blip_itm(folder)``: ``BlipForImageTextRetrieval`` + ``BlipProcessor`` (the layout of
``Salesforce/blip-itm-base-coco``, shrunk); ``blip2(folder)``: ``Blip2ForConditionalGeneration`` with an OPT decoder
+ ``Blip2Processor`` (``Salesforce/blip2-opt-2.7b``, shrunk). Every floating tensor of the state_dict is drawn by
:func:`golden.seeded.seeded_state_dict` from its key and shape, so the weights do not depend on the transformers
version that builds the module (the golden's reference ran on transformers 4.57.6, vgbench's tests run 5.x); the
goldens record :func:`golden.seeded.state_dict_digest` of them. Vocabularies hold the golden prompt's words, so that
captions of random models can share words with it.
"""
from __future__ import annotations

import json
from pathlib import Path

WORDS = ["a", "person", "is", "riding", "bike", "on", "the", "road", "street", "car", "man", "with", "of", "in",
         "and", "red", "blue", "sky", "tree", "people"]


def state_dict_digest(sd):
    from golden.seeded import state_dict_digest as digest

    return digest(sd)


def _seed(model, seed: int):
    import torch

    from golden.seeded import seeded_state_dict, state_dict_digest

    sd = model.state_dict()
    layout = {k: list(v.shape) for k, v in sd.items() if v.is_floating_point()}
    seeded = seeded_state_dict(layout, seed)
    model.load_state_dict({**sd, **seeded}, strict=True)
    return state_dict_digest({k: v.to(torch.float32) for k, v in seeded.items()})


def blip_itm(folder: str | Path, seed: int = 7) -> tuple[Path, str]:
    """A tiny ``BlipForImageTextRetrieval`` folder; returns (folder, digest of the seeded tensors)."""
    import torch
    from transformers import BertTokenizer, BlipConfig, BlipForImageTextRetrieval, BlipImageProcessor, BlipProcessor

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "[DEC]", "[ENC]"] + WORDS
    (folder / "vocab.txt").write_text("\n".join(words) + "\n")
    cfg = BlipConfig(text_config=dict(vocab_size=len(words), hidden_size=32, intermediate_size=64,
                                      num_hidden_layers=2, num_attention_heads=2, encoder_hidden_size=32,
                                      max_position_embeddings=64, bos_token_id=5, pad_token_id=0, sep_token_id=3),
                     vision_config=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                        num_attention_heads=2, image_size=64, patch_size=16),
                     projection_dim=32, image_text_hidden_size=32)
    torch.manual_seed(0)
    model = BlipForImageTextRetrieval(cfg).eval()
    digest = _seed(model, seed)
    model.save_pretrained(folder)
    tok = BertTokenizer(str(folder / "vocab.txt"), bos_token="[DEC]")
    tok.add_special_tokens({"additional_special_tokens": ["[ENC]"]}) if "[ENC]" not in tok.get_vocab() else None
    BlipProcessor(BlipImageProcessor(size={"height": 64, "width": 64}), tok).save_pretrained(folder)
    (folder / "golden_digest.json").write_text(json.dumps({"digest": digest}))
    return folder, digest


def blip2(folder: str | Path, seed: int = 11) -> tuple[Path, str]:
    """A tiny ``Blip2ForConditionalGeneration`` (OPT decoder) folder with a word-level BPE tokenizer; returns
    (folder, digest of the seeded tensors)."""
    import torch
    from transformers import (Blip2Config, Blip2ForConditionalGeneration, Blip2Processor, BlipImageProcessor,
                              GPT2Tokenizer, OPTConfig)

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    vocab = {"<pad>": 0, "</s>": 1, "<unk>": 2}
    for w in WORDS:
        vocab["Ġ" + w] = len(vocab)
    vocab["<image>"] = len(vocab)  # the image token the hub checkpoint's processor expands num_query_tokens times
    (folder / "vocab.json").write_text(json.dumps(vocab))
    (folder / "merges.txt").write_text("#version: 0.2\n")
    tok = GPT2Tokenizer(str(folder / "vocab.json"), str(folder / "merges.txt"), bos_token="</s>", eos_token="</s>",
                        unk_token="<unk>", pad_token="<pad>")
    text = OPTConfig(vocab_size=len(vocab), hidden_size=32, ffn_dim=64, num_hidden_layers=2, num_attention_heads=2,
                     word_embed_proj_dim=32, max_position_embeddings=64, bos_token_id=1, eos_token_id=1,
                     pad_token_id=0, tie_word_embeddings=False)
    cfg = Blip2Config(vision_config=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                         num_attention_heads=2, image_size=224, patch_size=32),
                      qformer_config=dict(vocab_size=len(vocab), hidden_size=32, intermediate_size=64,
                                          num_hidden_layers=2, num_attention_heads=2, encoder_hidden_size=32),
                      text_config=text.to_dict(), num_query_tokens=4, image_token_index=vocab["<image>"])
    torch.manual_seed(0)
    model = Blip2ForConditionalGeneration(cfg).eval()
    digest = _seed(model, seed)
    with torch.no_grad():  # peaked next-token logits: greedy decoding without near-ties that float16 rounding flips
        model.get_output_embeddings().weight.mul_(8.0)
    digest = state_dict_digest({k: v.float() for k, v in model.state_dict().items() if v.is_floating_point()})
    model.save_pretrained(folder)
    tok.add_special_tokens({"additional_special_tokens": ["<image>"]})
    Blip2Processor(BlipImageProcessor(size={"height": 224, "width": 224}), tok, num_query_tokens=4).save_pretrained(
        folder)
    (folder / "golden_digest.json").write_text(json.dumps({"digest": digest}))
    return folder, digest


def blip_captioner(folder: str | Path, words: list[str] | None = None) -> Path:
    """A tiny random ``BlipForConditionalGeneration`` captioner folder (the layout of
    ``Salesforce/blip-image-captioning-base``, shrunk; ``torch.manual_seed(0)`` init) with a word-level vocabulary
    (``words``, after BERT's special tokens): the stand-in for VBench's scene captioner in tests."""
    import torch
    from transformers import BertTokenizer, BlipConfig, BlipForConditionalGeneration, BlipImageProcessor, BlipProcessor

    torch.manual_seed(0)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "[DEC]", *(words or ["a", "of", "the"])]
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n")
    cfg = BlipConfig(text_config=dict(vocab_size=len(vocab), hidden_size=32, intermediate_size=64,
                                      num_hidden_layers=2, num_attention_heads=2, encoder_hidden_size=32,
                                      bos_token_id=5, pad_token_id=0, sep_token_id=3),
                     vision_config=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                        num_attention_heads=2, image_size=64, patch_size=16), projection_dim=32)
    BlipForConditionalGeneration(cfg).save_pretrained(folder)
    BlipProcessor(BlipImageProcessor(size={"height": 64, "width": 64}),
                  BertTokenizer(str(folder / "vocab.txt"), bos_token="[DEC]")).save_pretrained(folder)
    return folder
