"""What the OpenAI-compatible backend does when a server is not vLLM: `n` ignored, an assistant
prefix answered afresh, no logprobs — the loopback server in the modes real servers have
(llama.cpp's server ignores `n` and `continue_final_message`; the llama.cpp tests check the same
against the real thing)."""

from __future__ import annotations

import pytest

from reasonmill.errors import LLMCapabilityError
from reasonmill.llm.types import SamplingParams
from reasonmill.testing.loopback import ReplyRequest, Traits

from .conftest import user


def _recording(server) -> list[ReplyRequest]:  # type: ignore[no-untyped-def]
    seen: list[ReplyRequest] = []

    def respond(req: ReplyRequest) -> str:
        seen.append(req)
        return f"reply seed={req.params.get('seed')} sample={req.sample}"  # a server ignoring n answers alike

    server._state.responder = respond
    return seen


def test_n_that_is_n_against_a_server_that_ignores_n(server, backend_for):
    server.traits = Traits(ignore_n=True)
    seen = _recording(server)
    b = backend_for(server.url)
    out = b.generate([user("q")], SamplingParams(n=4, seed=7))
    assert len(out[0]) == 4 and all(c.ok for c in out[0])
    seeds = [r.params["seed"] for r in seen]
    assert seeds[0] == 7 and len(set(seeds)) == 4  # slot 0 keeps the seed, slots 1..3 get derived ones
    assert b.capabilities()["n"] == "separate" and b.stats.short_replies == 1
    # Learnt: the next request goes slot by slot at once, no wasted n-request; same samples again.
    seen.clear()
    again = b.generate([user("q")], SamplingParams(n=4, seed=7))
    assert [r.params["n"] for r in seen] == [1, 1, 1, 1]
    assert [c.text for c in again[0]] == [c.text for c in out[0]]


def test_a_server_that_honours_n_gets_one_request(server, backend_for):
    seen = _recording(server)
    b = backend_for(server.url)
    out = b.generate([user("q")], SamplingParams(n=3, seed=1))
    assert len(out[0]) == 3 and server.counts["requests"] == 1 and len(seen) == 3
    assert b.capabilities()["n"] == "native"


def test_prefix_continuation_is_verified_before_it_is_used(server, backend_for):
    b = backend_for(server.url)
    out = b.continue_prefix([user("q")], ["<think>\nstep one.\n\n"], SamplingParams())
    assert out[0][0].ok and b.capabilities()["prefix"] == "chat_continue"


def test_a_server_that_ignores_the_prefix_is_refused_in_one_line(server, backend_for):
    server.traits = Traits(ignore_prefix=True)
    b = backend_for(server.url)
    with pytest.raises(LLMCapabilityError, match="does not continue an assistant prefix") as err:
        b.continue_prefix([user("q")], ["<think>\nstep one.\n\n"], SamplingParams())
    assert "\n" not in str(err.value) and "tokenizer" in str(err.value)
    assert b.capabilities()["prefix"] == "unsupported"


def test_the_template_mode_continues_exactly_the_prefix(server, backend_for, tmp_path):
    import transformers
    from tokenizers import Tokenizer, models, pre_tokenizers

    vocab = {w: i for i, w in enumerate(["<unk>", "<s>", "</s>", "user", "assistant", "q", ":"])}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    fast = transformers.PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token="<s>", eos_token="</s>", unk_token="<unk>"
    )
    fast.chat_template = "{% for m in messages %}<|{{ m['role'] }}|>\n{{ m['content'] }}{% if not loop.last %}<|end|>\n{% endif %}{% endfor %}"
    fast.save_pretrained(tmp_path / "tok")
    server.traits = Traits(ignore_prefix=True)
    seen = _recording(server)
    b = backend_for(server.url, tokenizer=str(tmp_path / "tok"))
    out = b.continue_prefix([user("q")], ["<think>\nstep one.\n\n"], SamplingParams())
    assert out[0][0].ok and b.capabilities()["prefix"] == "completions_template"
    sent = [r for r in seen if r.kind == "completion"]
    assert sent and sent[-1].prompt.endswith("<|assistant|>\n<think>\nstep one.\n\n")


def test_logprobs_are_asked_for_and_noticed(server, backend_for):
    b = backend_for(server.url)
    c = b.generate([user("q")], SamplingParams(top_logprobs=3))[0][0]
    assert "top_logprobs" in c.meta and b.capabilities()["logprobs"] is True
    server.traits = Traits(logprobs=False)
    b2 = backend_for(server.url)
    c = b2.generate([user("q")], SamplingParams(top_logprobs=3))[0][0]
    assert "top_logprobs" not in c.meta and b2.capabilities()["logprobs"] is False
