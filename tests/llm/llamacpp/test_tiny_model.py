"""The test model itself, checked against llama.cpp: what the server tokenizes and renders is what
the Hugging Face tokenizer folder tokenizes and renders, so a client-side rendering (reasonmill's
`prefix_mode: completions_template`) reproduces the server's own prompts token for token."""

from __future__ import annotations

import pytest

from reasonmill.generators.llm_tasks.teacher import render_teacher

PREFIX = "<think>\nwe add the sum.\n\n"


@pytest.fixture(scope="module")
def hf_tokenizer(tiny_model):
    """The tokenizer folder loaded the way users load one."""
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(tiny_model.tokenizer_dir))


def test_server_tokenizes_like_the_tokenizer_folder(live, hf_tokenizer):
    # Server behaviour: POST /extras/tokenize runs llama.cpp's own BPE (GGUF vocab + merges,
    # GPT-2 pre-tokenizer, special tokens parsed) on the text.
    conv = render_teacher("What is the largest prime factor of 35?")
    text = hf_tokenizer.apply_chat_template(conv, add_generation_prompt=True, tokenize=False)
    assert text.startswith("<|im_start|>system\n[reasonmill:teacher]")
    assert live.tokenize(text) == hf_tokenizer(text, add_special_tokens=False)["input_ids"]
    answer = "<think>\nwe add.\n\nWait, check it.\n</think>\n\nThe answer is \\boxed{7}."
    assert live.tokenize(answer) == hf_tokenizer(answer, add_special_tokens=False)["input_ids"]
    assert hf_tokenizer.convert_ids_to_tokens(live.tokenize("<think></think>")) == ["<think>", "</think>"]


def test_chat_prompt_length_matches_client_rendering(live, hf_tokenizer):
    # Server behaviour: /v1/chat/completions renders `tokenizer.chat_template` from the GGUF with
    # add_generation_prompt and reports the prompt's token count in usage.prompt_tokens.
    conv = render_teacher("Solve for x: 3x - 1 = 8. Give x as an integer or a reduced fraction.")
    reply = live.post(
        "/chat/completions", {"model": "x", "messages": conv, "max_tokens": 1, "temperature": 0.0}
    )
    ids = hf_tokenizer.apply_chat_template(conv, add_generation_prompt=True, tokenize=True, return_dict=True)
    assert reply["usage"]["prompt_tokens"] == len(ids["input_ids"])


def test_continue_rendering_is_generation_prompt_plus_prefix(hf_tokenizer):
    # No server: transformers' continue_final_message on this template leaves the prefix exactly as
    # given (trailing blank line included), so it equals the generation prompt + the prefix.
    conv = render_teacher("What is the largest prime factor of 14?")
    cont = hf_tokenizer.apply_chat_template(
        conv + [{"role": "assistant", "content": PREFIX}],
        continue_final_message=True,
        add_generation_prompt=False,
        tokenize=False,
    )
    assert cont == hf_tokenizer.apply_chat_template(conv, add_generation_prompt=True, tokenize=False) + PREFIX


def test_models_endpoint_names_the_alias(live):
    # Server behaviour: GET /v1/models lists the served model under --model_alias.
    assert [m["id"] for m in live.get("/models")["data"]] == [live.alias]
