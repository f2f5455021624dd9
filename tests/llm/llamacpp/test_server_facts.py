"""What llama-cpp-python 0.3.36's OpenAI-compatible server really does, observed with raw HTTP.

These pin the behaviours reasonmill has to cope with (issue 16). Each test says which behaviour
it observes; if a later server version changes one, the test names what changed.
"""

from __future__ import annotations

import pytest

from reasonmill.generators.llm_tasks.teacher import render_teacher
from reasonmill.llm.replies import first_token_logprobs
from reasonmill.verifiers.judge import logprob_score, render_judge

from . import grammars

CONV = render_teacher("What is the largest prime factor of 35?")
PREFIX = "<think>\nwe add the sum.\n\n"
TEACH = {"model": "teacher", "temperature": 1.0, "max_tokens": 200, "seed": 7, "grammar": grammars.TEACHER}
GREEDY = {"model": "teacher", "temperature": 0.0, "max_tokens": 12}


@pytest.fixture(scope="module")
def tok(tiny_model):
    """The model's tokenizer folder, for client-side renderings."""
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(tiny_model.tokenizer_dir))


def ids(tok, messages, **kw) -> list[int]:
    """Token ids of the chat template rendered client-side."""
    return tok.apply_chat_template(messages, tokenize=True, return_dict=True, **kw)["input_ids"]


def chat(live, **body):
    """One /v1/chat/completions reply."""
    return live.post("/chat/completions", {"messages": CONV, **body})


def test_n_is_ignored_one_choice_comes_back(live):
    # Observed: `n` is excluded from the request before generation, on both endpoints: `n: 4` gives
    # ONE choice (index 0), with status 200 and no warning.
    reply = chat(live, **TEACH, n=4)
    assert [c["index"] for c in reply["choices"]] == [0]
    assert reply["choices"][0]["finish_reason"] == "stop"
    plain = live.post("/completions", {**GREEDY, "prompt": "we add", "n": 4})
    assert len(plain["choices"]) == 1


def test_continue_final_message_is_ignored_the_reply_is_fresh(live, tok):
    # Observed: unknown body fields (continue_final_message, add_generation_prompt) are dropped by
    # the request model; the template is rendered with add_generation_prompt=True, so a final
    # assistant message is closed (<|im_end|>) and a NEW assistant turn is opened after it.
    prefixed = CONV + [{"role": "assistant", "content": PREFIX}]
    extra = {"continue_final_message": True, "add_generation_prompt": False}
    with_prefix = chat(live, **GREEDY, **extra, messages=prefixed)
    without = chat(live, **GREEDY)
    fresh_prompt = ids(tok, prefixed, add_generation_prompt=True)
    continue_prompt = ids(tok, prefixed, continue_final_message=True, add_generation_prompt=False)
    assert without["usage"]["prompt_tokens"] == len(ids(tok, CONV, add_generation_prompt=True))
    assert with_prefix["usage"]["prompt_tokens"] == len(fresh_prompt)
    # the prefix turn was closed and a new one opened: the fresh prompt ends with that header
    header = tok("<|im_end|>\n<|im_start|>assistant\n", add_special_tokens=False)["input_ids"]
    assert fresh_prompt[-len(header) :] == header and continue_prompt[-len(header) :] != header
    assert len(fresh_prompt) > len(continue_prompt)
    # The text says the same: greedy chat-with-prefix equals the raw completion of the FRESH-turn
    # prompt, not of the continuation prompt.
    text = with_prefix["choices"][0]["message"]["content"]
    render = tok.apply_chat_template
    fresh = live.post(
        "/completions", {**GREEDY, "prompt": render(prefixed, add_generation_prompt=True, tokenize=False)}
    )
    cont = live.post(
        "/completions",
        {
            **GREEDY,
            "prompt": render(
                prefixed, continue_final_message=True, add_generation_prompt=False, tokenize=False
            ),
        },
    )
    assert text == fresh["choices"][0]["text"]
    assert text != cont["choices"][0]["text"]
    # /v1/completions tokenizes the raw prompt with special tokens parsed and no BOS: the
    # client-side continuation prompt is exactly what the server evaluates.
    assert cont["usage"]["prompt_tokens"] == len(continue_prompt)


def test_chat_logprobs_are_openai_shaped_unconstrained_and_include_the_chosen_token(live):
    # Observed: `logprobs: true, top_logprobs: 5` gives OpenAI's chat shape
    # (choices[0].logprobs.content[i].top_logprobs = [{token, logprob, bytes}]) computed from the
    # RAW distribution, before the grammar: the grammar-chosen token can sit far outside the top 5,
    # and the server then appends it to the list (5 + 1 entries).
    reply = live.post(
        "/chat/completions",
        {
            "model": "judge",
            "messages": render_judge("q", "5", "7"),
            "temperature": 0.0,
            "max_tokens": 4,
            "logprobs": True,
            "top_logprobs": 5,
            "grammar": grammars.JUDGE,
        },
    )
    choice = reply["choices"][0]
    assert choice["message"]["content"] in ("0", "1")
    first = choice["logprobs"]["content"][0]
    assert first["token"] == choice["message"]["content"]
    tops = first["top_logprobs"]
    assert {"token", "logprob"} <= set(tops[0])
    assert len(tops) in (5, 6)
    assert first["token"] in {t["token"] for t in tops}
    if len(tops) == 6:  # the chosen token was not in the raw top 5: it is appended last
        assert tops[-1]["token"] == first["token"]
    parsed = first_token_logprobs(choice["logprobs"])
    assert parsed is not None and first["token"] in parsed
    # Consequence for the judge: a digit missing from the map counts as probability 0, so the
    # logprob score is just the chosen digit whenever the other digit is outside the raw top 5.
    if "0" not in parsed or "1" not in parsed:
        assert logprob_score(parsed) == float(first["token"])


def test_completions_logprobs_are_legacy_shaped(live):
    # Observed: /v1/completions with `logprobs: 5` answers the legacy shape
    # (tokens, token_logprobs, top_logprobs = [{token: logprob}] per position).
    reply = live.post("/completions", {**GREEDY, "max_tokens": 2, "prompt": "we add the", "logprobs": 5})
    lp = reply["choices"][0]["logprobs"]
    assert len(lp["tokens"]) == len(lp["token_logprobs"]) == len(lp["top_logprobs"]) == 2
    assert isinstance(lp["top_logprobs"][0], dict) and len(lp["top_logprobs"][0]) == 5
    assert first_token_logprobs(lp) == {k: float(v) for k, v in lp["top_logprobs"][0].items()}


def test_seed_makes_identical_requests_identical_whatever_came_between(live):
    # Observed: a request's `seed` re-seeds the sampler, and the KV-cache prefix reuse between
    # requests does not change the logits: the same request gives the same text and token counts
    # before and after other requests; another seed gives another sample; no seed gives a fresh
    # sample each time (the server advances its own seed).
    a = chat(live, **TEACH)
    chat(live, **{**TEACH, "seed": 99}, messages=render_teacher("Solve for x: 3x - 1 = 8."))
    b = chat(live, **TEACH)
    assert a["choices"][0]["message"] == b["choices"][0]["message"]
    assert a["usage"] == b["usage"]
    texts = {chat(live, **{**TEACH, "seed": s})["choices"][0]["message"]["content"] for s in range(4)}
    assert len(texts) > 1
    unseeded = {k: v for k, v in TEACH.items() if k != "seed"}
    assert len({chat(live, **unseeded)["choices"][0]["message"]["content"] for _ in range(3)}) > 1


def test_grammar_shapes_every_reply(live):
    # Observed: `grammar` (GBNF) in the body constrains sampling; once the grammar is complete the
    # only allowed token is end-of-sequence, so the reply ends with finish_reason "stop".
    import re

    for s in range(3):
        reply = chat(live, **{**TEACH, "seed": s})["choices"][0]
        assert reply["finish_reason"] == "stop"
        assert re.fullmatch(
            r"<think>\n[a-z ]+\.\n\nWait, [a-z ]+\.(\n\n[a-z ]+\.)?\n</think>\n\nThe answer is \\boxed\{\d\}\.",
            reply["message"]["content"],
        ), reply["message"]["content"]
