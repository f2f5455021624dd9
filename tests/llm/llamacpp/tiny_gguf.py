"""A tiny randomly initialised llama-architecture GGUF model and its Hugging Face tokenizer folder.

Nothing is downloaded: a byte-level BPE tokenizer is trained here with `tokenizers` (so every byte,
hence every digit, brace, letter and "\\boxed{" can be emitted), "<think>" and "</think>" are added
as single tokens, and the weights are drawn from a seeded numpy generator. The GGUF carries the
same vocabulary (llama.cpp's "gpt2" BPE tokenizer with the GPT-2 pre-tokenizer, which is the split
`pre_tokenizers.ByteLevel` makes) and the chat template in `tokenizer.chat_template`; the tokenizer
folder (tokenizer.json + tokenizer_config.json) carries the same template, so a client can render
prompts exactly as the server does (reasonmill's `prefix_mode: completions_template`).

`<|im_end|>` is the end-of-sequence token: the template ends every turn with it and llama.cpp stops
there, so a reply constrained by a GBNF grammar ends with finish reason "stop" once the grammar is
complete. No BOS token is added (`tokenizer.ggml.add_bos_token = false`), so a prompt rendered
client-side and sent to /v1/completions is tokenized exactly like the server's own chat rendering.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

CHAT_TEMPLATE = (
    "{%- for message in messages -%}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' -}}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{- '<|im_start|>assistant\\n' -}}{%- endif -%}"
)
"""ChatML-shaped, written with whitespace control so llama-cpp-python does not swap in its own
built-in "chatml" formatter (it does when the template equals its copy byte for byte)."""

SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
THINK_TOKENS = ["<think>", "</think>"]
EOS = "<|im_end|>"

_WORDS = (
    "we add take the sum so check it is ten two then next value wait let me think again answer "
    "solve for x prime factor largest number integer reduced fraction give step result final "
    "system user assistant question reference candidate same meaning reply digit only grade"
)


def _corpus() -> list[str]:
    """Text the tokenizer learns merges from: reasonmill's own prompts, the words the test grammars
    use, numbers and the answer format (training is a few milliseconds on this)."""
    from reasonmill.generators.llm_tasks.student import render_student
    from reasonmill.generators.llm_tasks.teacher import SYSTEM_PROMPT as TEACHER
    from reasonmill.verifiers.judge import SYSTEM_PROMPT as JUDGE

    lines = [TEACHER, JUDGE, render_student("What is 2 + 2?")[0]["content"], _WORDS]
    lines += [f"The answer is \\boxed{{{i}}}." for i in range(-20, 100)]
    lines += [f"What is the largest prime factor of {i}? Solve for x: {i}x - 7 = {i + 3}." for i in range(40)]
    lines += [
        f"<think>\nWe add the sum.\n\nWait, check it.\n</think>\n\nThe answer is \\boxed{{{i}}}."
        for i in range(10)
    ]
    return lines * 3


def train_tokenizer(vocab_size: int = 512):
    """A byte-level BPE `tokenizers.Tokenizer` with the special and think tokens (deterministic)."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(_corpus(), trainer)
    tok.add_tokens([AddedToken(t, special=False, normalized=False) for t in THINK_TOKENS])
    return tok


@dataclass(frozen=True, slots=True)
class TinyModel:
    """Where the tiny model lives: the GGUF file, the tokenizer folder, and its shape."""

    gguf: Path
    tokenizer_dir: Path
    vocab_size: int
    eos_token: str = EOS
    chat_template: str = CHAT_TEMPLATE


def _merges(tok) -> list[str]:
    merges = json.loads(tok.to_str())["model"]["merges"]
    return [m if isinstance(m, str) else f"{m[0]} {m[1]}" for m in merges]


def write_tokenizer_folder(tok, folder: Path) -> None:
    """tokenizer.json + tokenizer_config.json (with the chat template), loadable by
    `transformers.AutoTokenizer.from_pretrained(folder)`."""
    folder.mkdir(parents=True, exist_ok=True)
    tok.save(str(folder / "tokenizer.json"))
    config = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "eos_token": EOS,
        "pad_token": "<|endoftext|>",
        "bos_token": None,
        "unk_token": None,
        "add_bos_token": False,
        "clean_up_tokenization_spaces": False,
        "model_max_length": 1024,
        "chat_template": CHAT_TEMPLATE,
    }
    (folder / "tokenizer_config.json").write_text(json.dumps(config, indent=2))


def write_tiny_model(
    folder: Path,
    *,
    seed: int = 0,
    n_layer: int = 2,
    n_embd: int = 64,
    n_head: int = 4,
    n_head_kv: int = 2,
    n_ff: int = 128,
    n_ctx: int = 2048,
    vocab_size: int = 512,
    logit_std: float = 1.0,
) -> TinyModel:
    """Write `folder/tiny.gguf` and `folder/tokenizer/`; returns where they are.

    Weights are N(0, 1/fan_in) (activations stay O(1)); the output projection is scaled so the
    logits have standard deviation `logit_std`: far from uniform, so sampling at a temperature
    differs from greedy decoding and seeds matter (a random model with a personality).
    """
    import gguf

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tok = train_tokenizer(vocab_size)
    vocab = tok.get_vocab(with_added_tokens=True)
    n_vocab = len(vocab)
    by_id = sorted(vocab.items(), key=lambda kv: kv[1])
    assert [i for _, i in by_id] == list(range(n_vocab)), "token ids must be dense"
    tokens = [t for t, _ in by_id]
    types = [
        gguf.TokenType.CONTROL
        if t in SPECIAL_TOKENS
        else gguf.TokenType.USER_DEFINED
        if t in THINK_TOKENS
        else gguf.TokenType.NORMAL
        for t in tokens
    ]
    head_dim = n_embd // n_head
    path = folder / "tiny.gguf"
    w = gguf.GGUFWriter(str(path), "llama")
    w.add_name("reasonmill-tiny-random-llama")
    w.add_context_length(n_ctx)
    w.add_embedding_length(n_embd)
    w.add_block_count(n_layer)
    w.add_feed_forward_length(n_ff)
    w.add_head_count(n_head)
    w.add_head_count_kv(n_head_kv)
    w.add_rope_dimension_count(head_dim)
    w.add_rope_freq_base(10000.0)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_vocab_size(n_vocab)
    w.add_file_type(gguf.LlamaFileType.ALL_F32)
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("gpt-2")
    w.add_token_list(tokens)
    w.add_token_types(types)
    w.add_token_merges(_merges(tok))
    w.add_eos_token_id(vocab[EOS])
    w.add_eot_token_id(vocab[EOS])
    w.add_pad_token_id(vocab["<|endoftext|>"])
    w.add_add_bos_token(False)
    w.add_add_eos_token(False)
    w.add_chat_template(CHAT_TEMPLATE)

    rng = np.random.default_rng(seed)

    def rand(rows: int, cols: int, std: float | None = None) -> np.ndarray:
        std = 1.0 / np.sqrt(cols) if std is None else std
        return (rng.standard_normal((rows, cols)) * std).astype(np.float32)

    ones = np.ones(n_embd, dtype=np.float32)
    w.add_tensor("token_embd.weight", rand(n_vocab, n_embd, 1.0))
    for b in range(n_layer):
        p = f"blk.{b}."
        w.add_tensor(p + "attn_norm.weight", ones)
        w.add_tensor(p + "attn_q.weight", rand(n_head * head_dim, n_embd))
        w.add_tensor(p + "attn_k.weight", rand(n_head_kv * head_dim, n_embd))
        w.add_tensor(p + "attn_v.weight", rand(n_head_kv * head_dim, n_embd))
        w.add_tensor(p + "attn_output.weight", rand(n_embd, n_head * head_dim))
        w.add_tensor(p + "ffn_norm.weight", ones)
        w.add_tensor(p + "ffn_gate.weight", rand(n_ff, n_embd))
        w.add_tensor(p + "ffn_up.weight", rand(n_ff, n_embd))
        w.add_tensor(p + "ffn_down.weight", rand(n_embd, n_ff))
    w.add_tensor("output_norm.weight", ones)
    w.add_tensor("output.weight", rand(n_vocab, n_embd, logit_std / np.sqrt(n_embd)))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    write_tokenizer_folder(tok, folder / "tokenizer")
    return TinyModel(path, folder / "tokenizer", n_vocab)
