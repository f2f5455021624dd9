"""A tiny randomly initialised Llama with a tokenizer trained on the corpus: for smoke runs, tests,
notebooks and CPU benchmarks, with nothing downloaded.

`make_tiny_model(path, texts)` trains a byte-level BPE tokenizer on `texts` (so decoding is exact
and any generated text can be graded), gives it a chat template whose rendered prompt is a prefix of
the rendered prompt + completion (TRL's completion mask depends on it) and `</s>` after each turn
(the EOS generation stops at), and saves it with a 2-layer Llama next to it, like a hub checkpoint.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

CHAT_TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|>\n{{ m['content'] }}</s>\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)
SPECIALS = ["<pad>", "<s>", "</s>", "<unk>", "<|user|>", "<|assistant|>", "<|system|>"]


def corpus_texts(corpus: Path | str, limit: int = 2000) -> list[str]:
    """Questions and traces of a build's `records` subset (tokenizer training text)."""
    from reasonmill.pipelines.corpus import read_subset

    t = read_subset(Path(corpus), "records").slice(0, limit)
    return [str(x) for x in t.column("question").to_pylist() + t.column("completion").to_pylist()]


def make_tiny_model(
    path: Path | str,
    texts: Iterable[str],
    vocab_size: int = 512,
    hidden_size: int = 32,
    layers: int = 2,
    max_positions: int = 2048,
    seed: int = 0,
) -> Path:
    """Write a tokenizer trained on `texts` and a random tiny Llama to `path`; return `path`."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, special_tokens=SPECIALS, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    tok.train_from_iterator(list(texts), trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, pad_token="<pad>", bos_token="<s>", eos_token="</s>", unk_token="<unk>"
    )
    fast.add_special_tokens({"additional_special_tokens": SPECIALS[4:]})
    fast.chat_template = CHAT_TEMPLATE
    fast.save_pretrained(path)
    config = LlamaConfig(
        vocab_size=len(fast),
        hidden_size=hidden_size,
        intermediate_size=hidden_size * 2,
        num_hidden_layers=layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=max_positions,
        pad_token_id=fast.pad_token_id,
        bos_token_id=fast.bos_token_id,
        eos_token_id=fast.eos_token_id,
        tie_word_embeddings=True,
    )
    torch.manual_seed(seed)
    LlamaForCausalLM(config).save_pretrained(path)
    return path


__all__ = ["CHAT_TEMPLATE", "corpus_texts", "make_tiny_model"]
