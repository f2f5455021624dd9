"""The transformers backend on a tiny random Llama built here from a config (nothing downloaded)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import transformers

from reasonmill.llm.registry import make_backend
from reasonmill.llm.types import SamplingParams

WORDS = "the a one two three four five six seven eight nine ten is plus minus equals so wait hmm answer x y".split()
TEMPLATE = (
    "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}"
    "{% if add_generation_prompt %}assistant:{% endif %}"
)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer Llama with random weights and a word-level tokenizer, saved like a hub checkpoint."""
    from tokenizers import Tokenizer, models, pre_tokenizers

    path = tmp_path_factory.mktemp("tiny-llama")
    specials = ["<pad>", "<s>", "</s>", "<unk>"]
    vocab = {
        w: i for i, w in enumerate(specials + WORDS + ["user", "assistant", "system", ":", "+", "=", "?"])
    }
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    fast = transformers.PreTrainedTokenizerFast(
        tokenizer_object=tok, pad_token="<pad>", bos_token="<s>", eos_token="</s>", unk_token="<unk>"
    )
    fast.chat_template = TEMPLATE
    fast.save_pretrained(path)
    config = transformers.LlamaConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=128,
        pad_token_id=0,
        bos_token_id=1,
        eos_token_id=2,
    )
    torch.manual_seed(0)
    transformers.LlamaForCausalLM(config).save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def backend(model_dir: Path):
    b = make_backend({"kind": "transformers", "model_path": str(model_dir), "device": "cpu", "batch_size": 2})
    yield b
    b.close()


def test_generate_samples_with_counts(backend):
    convs = [[{"role": "user", "content": f"{w} plus two ?"}] for w in ("one", "three", "five")]
    out = backend.generate(convs, SamplingParams(n=2, max_tokens=6, temperature=1.0, seed=1))
    assert [len(r) for r in out] == [2, 2, 2]
    for r in out:
        for c in r:
            assert c.finish_reason in ("stop", "length")
            assert c.completion_tokens <= 6 and c.prompt_tokens > 3
            assert c.finish_reason == "stop" or c.completion_tokens == 6
    assert backend.stats.requests == 3


def test_greedy_is_deterministic(backend):
    conv = [[{"role": "user", "content": "two plus two ?"}]]
    a = backend.generate(conv, SamplingParams(temperature=0.0, max_tokens=5))
    b = backend.generate(conv, SamplingParams(temperature=0.0, max_tokens=5))
    assert a[0][0].text == b[0][0].text


def test_banned_first_word_is_masked_at_the_first_step_only(backend):
    conv = [[{"role": "user", "content": "one plus one ?"}]]
    greedy = SamplingParams(temperature=0.0, max_tokens=4)
    free = backend.continue_prefix(conv, ["so x is"], greedy)[0][0]
    first = free.text.split()[0]
    banned = backend.continue_prefix(conv, ["so x is"], greedy, [first])[0][0]
    assert banned.text.split()[0] != first
    assert "banned_violation" not in banned.meta
