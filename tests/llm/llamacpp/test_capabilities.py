"""The backend's capability probe and prefix-continuation modes against llama.cpp's server.

The contract (issue 16): `capabilities()` -> {"served_model", "n": "native"|"separate",
"prefix": "chat_continue"|"completions_template"|"completions_plain"|"unsupported", "logprobs"};
`prefix_mode: auto` uses chat_continue when the probe verifies it, else completions_template when a
`tokenizer` folder is given, else refuses (`continue_prefix` raises `LLMCapabilityError`, one
line naming the backend); `n_mode: separate` asks one choice per request.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from reasonmill.generators.llm_tasks.teacher import render_teacher
from reasonmill.llm import make_backend
from reasonmill.llm.types import SamplingParams

from . import grammars
from .configs import backend

CONV = render_teacher("What is the largest prime factor of 35?")
PREFIX = "<think>\nwe add the sum.\n\n"
SAMPLING = SamplingParams(n=2, seed=5, temperature=1.0, top_p=1.0, max_tokens=120)


@pytest.fixture
def make(live) -> Iterator[Any]:
    """`make(model, grammar, **config)`: an "openai" backend on the live server, closed after."""
    made: list[Any] = []

    def _make(model: str, grammar: str | None, **extra: Any) -> Any:
        b = make_backend(backend(live.url, model, grammar, **extra))
        made.append(b)
        return b

    yield _make
    for b in made:
        b.close()


def direct_continuation(live, tokenizer_dir, seed: int) -> str:
    """What the server generates when the prefix really is continued: the chat template rendered
    client-side with the prefix as the open assistant turn, sent raw to /v1/completions."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(tokenizer_dir))
    prompt = tok.apply_chat_template(
        CONV + [{"role": "assistant", "content": PREFIX}],
        continue_final_message=True,
        add_generation_prompt=False,
        tokenize=False,
    )
    body = {
        "model": "reviser",
        "prompt": prompt,
        "temperature": SAMPLING.temperature,
        "top_p": SAMPLING.top_p,
        "max_tokens": SAMPLING.max_tokens,
        "seed": seed,
        "grammar": grammars.CONTINUATION,
    }
    return live.post("/completions", body)["choices"][0]["text"]


def test_probe_finds_what_llama_cpp_does(live, make):
    # Server behaviour: one choice for any n, `continue_final_message` ignored (a fresh reply),
    # OpenAI-shaped chat logprobs. With no tokenizer there is no prefix mode that works.
    caps = make("teacher", grammars.TEACHER).capabilities()
    assert caps["served_model"] == live.alias
    assert caps["n"] == "separate"
    assert caps["prefix"] == "unsupported"
    assert caps["logprobs"] is True


def test_no_prefix_mode_refuses_in_one_line_naming_the_backend(make):
    # Server behaviour: `continue_final_message` is ignored, so continuing through the chat API
    # would silently be a fresh reply; without a tokenizer the backend must refuse.
    from reasonmill.errors import LLMCapabilityError

    reviser = make("reviser", grammars.CONTINUATION)
    with pytest.raises(LLMCapabilityError) as info:
        reviser.continue_prefix([CONV], [PREFIX], SAMPLING)
    message = str(info.value)
    assert "\n" not in message.strip(), message
    assert "reviser" in message, message


def test_tokenizer_makes_auto_continue_through_completions_template(live, make, tiny_model):
    # Server behaviour: /v1/completions takes a raw prompt (special tokens parsed, no BOS added),
    # so the chat template rendered client-side + the prefix is a true continuation.
    reviser = make("reviser", grammars.CONTINUATION, tokenizer=str(tiny_model.tokenizer_dir))
    assert reviser.capabilities()["prefix"] == "completions_template"
    before = live.posts("/v1/completions")
    out = reviser.continue_prefix([CONV], [PREFIX], SAMPLING)[0]
    assert live.posts("/v1/completions") > before
    assert len(out) == 2 and all(c.ok for c in out), [(c.finish_reason, c.error) for c in out]
    # slot 0 is sampled with the request's seed: exactly what the true continuation gives
    assert out[0].text == direct_continuation(live, tiny_model.tokenizer_dir, SAMPLING.seed)
    # and not what the chat API gives for the same request (a fresh reply that ignores the prefix)
    fresh = live.post(
        "/chat/completions",
        {
            "model": "reviser",
            "messages": CONV + [{"role": "assistant", "content": PREFIX}],
            "continue_final_message": True,
            "add_generation_prompt": False,
            "temperature": SAMPLING.temperature,
            "top_p": SAMPLING.top_p,
            "max_tokens": SAMPLING.max_tokens,
            "seed": SAMPLING.seed,
            "grammar": grammars.CONTINUATION,
        },
    )["choices"][0]["message"]["content"]
    assert out[0].text != fresh


def test_explicit_completions_template_mode_matches_auto(make, tiny_model):
    # Same server behaviour as above; naming the mode gives the same continuation as `auto`
    # finding it.
    auto = make("reviser", grammars.CONTINUATION, tokenizer=str(tiny_model.tokenizer_dir))
    named = make(
        "reviser",
        grammars.CONTINUATION,
        tokenizer=str(tiny_model.tokenizer_dir),
        prefix_mode="completions_template",
    )
    assert named.capabilities()["prefix"] == "completions_template"
    texts = [[c.text for c in b.continue_prefix([CONV], [PREFIX], SAMPLING)[0]] for b in (auto, named)]
    assert texts[0] == texts[1]


def test_n_mode_separate_asks_one_choice_per_request(live, make):
    # Server behaviour: one choice per request whatever n says; `n_mode: separate` asks n requests
    # per conversation, each for one sample, and the samples are reproducible.
    teacher = make("teacher", grammars.TEACHER, n_mode="separate")
    assert teacher.capabilities()["n"] == "separate"
    sampling = SamplingParams(n=4, seed=9, temperature=1.0, max_tokens=200)
    before = live.posts("/v1/chat/completions")
    out = teacher.generate([CONV], sampling)[0]
    assert live.posts("/v1/chat/completions") - before == 4
    assert len(out) == 4 and all(c.ok for c in out)
    assert [
        c.text for c in make("teacher", grammars.TEACHER, n_mode="separate").generate([CONV], sampling)[0]
    ] == [c.text for c in out]
