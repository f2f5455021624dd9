"""Pure helpers every LLM parse step shares: reply failures, JSON extraction, think tags, answers.

Each LLM use in reasonmill is render → call → parse. The parse half must survive what models
really send back: JSON inside a code fence or wrapped in prose, a `<think>` block that never
closes, a reply cut off by `max_tokens`. Nothing here calls a model, so all of it is unit-tested
on literal strings.

A reply that cannot be used becomes a `BadReply` (machine-readable `reason`, human `detail`,
the `raw` text kept) and, at record level, a `Rejection` with that reason; it is never dropped.

>>> extract_json('Sure! ```json\\n{"a": 1}\\n``` Hope this helps.')
{'a': 1}
>>> split_think("<think>hmm</think> The answer is \\\\boxed{4}.")[0]
'hmm'
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from reasonmill.llm.types import Completion

MALFORMED = "malformed_reply"
TRUNCATED = "truncated_reply"
REQUEST_FAILED = "request_failed"


def marker(name: str) -> str:
    """The stable first line of every prompt of one render function, e.g. `[reasonmill:judge]`.

    Why: test responders (and humans reading a cache) can tell prompts apart without parsing them.
    """
    return f"[reasonmill:{name}]"


@dataclass(slots=True)
class BadReply:
    """Why a reply could not be used: `reason` (a rejection reason code), `detail`, the raw text."""

    reason: str
    detail: str
    raw: str = ""

    def as_meta(self) -> dict[str, str]:
        """Plain dict for `record.meta` (the raw text is kept whole there)."""
        return {"reason": self.reason, "detail": self.detail, "raw": self.raw}


class ParseError(ValueError):
    """A reply that does not parse; carries the `BadReply` that explains it."""

    def __init__(self, problem: BadReply) -> None:
        self.problem = problem
        super().__init__(f"{problem.reason}: {problem.detail}")


def completion_problem(c: Completion) -> BadReply | None:
    """What is wrong with a completion before parsing (failed request, truncation, empty), or None.

    >>> completion_problem(Completion(text="abc", finish_reason="length")).reason
    'truncated_reply'
    """
    if c.finish_reason == "error" or c.error is not None:
        raw = str(c.meta.get("raw", c.text) or "")
        return BadReply(REQUEST_FAILED, c.error or "request failed", raw)
    if c.finish_reason == "length":
        return BadReply(TRUNCATED, "reply cut off at max_tokens (finish_reason 'length')", c.text)
    if c.finish_reason != "stop":
        return BadReply(MALFORMED, f"finish_reason {c.finish_reason!r}", c.text)
    if not c.text.strip():
        return BadReply(MALFORMED, "empty reply", c.text)
    return None


_FENCE = re.compile(r"```(?:json|JSON)?\s*\n?(.*?)```", re.S)
_TRAILING_COMMA = re.compile(r",\s*([}\]])")


def _loads(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return json.loads(_TRAILING_COMMA.sub(r"\1", text))


def extract_json(text: str) -> Any:
    """The first JSON object or array in `text`: fenced blocks first, then the whole text, then the
    first decodable `{`/`[` span in prose. Trailing commas are forgiven. Raises ValueError if none.

    >>> extract_json('Here you go: [1, 2,] and more text')
    [1, 2]
    """
    candidates = [m.group(1) for m in _FENCE.finditer(text)] + [text]
    for cand in candidates:
        cand = cand.strip()
        try:
            value = _loads(cand)
        except ValueError:
            pass
        else:
            if isinstance(value, dict | list):
                return value
    decoder = json.JSONDecoder()
    for m in re.finditer(r"[{\[]", text):
        chunk = text[m.start() :]
        for attempt in (chunk, _TRAILING_COMMA.sub(r"\1", chunk)):
            try:
                value, _ = decoder.raw_decode(attempt)
            except ValueError:
                continue
            if isinstance(value, dict | list):
                return value
    raise ValueError("no JSON object or array found")


_THINK_OPEN, _THINK_CLOSE = "<think>", "</think>"


def split_think(text: str) -> tuple[str | None, str, str | None]:
    """Split a reply into (thinking, rest, problem). `problem` names a tag fault, else None.

    No tags at all: thinking None, rest the whole text. An opened but never closed `<think>` is
    the sign of a cut-off or rambling reply: thinking is everything after the tag, rest is empty.
    A `</think>` without an opening tag (some chat templates put `<think>` in the prompt) is fine.

    >>> split_think("<think>a")
    ('a', '', 'unclosed <think>')
    >>> split_think("a</think>b")
    ('a', 'b', None)
    """
    opened = text.find(_THINK_OPEN)
    closed = text.rfind(_THINK_CLOSE)
    if opened < 0 and closed < 0:
        return None, text.strip(), None
    if closed < 0:
        return text[opened + len(_THINK_OPEN) :].strip(), "", "unclosed <think>"
    start = opened + len(_THINK_OPEN) if 0 <= opened < closed else 0
    thinking = text[start:closed].strip()
    rest = text[closed + len(_THINK_CLOSE) :].strip()
    if _THINK_OPEN in thinking:
        return thinking, rest, "nested <think>"
    return thinking, rest, None


def _boxed(text: str) -> str | None:
    i = text.rfind("\\boxed{")
    if i < 0:
        return None
    depth, j = 1, i + len("\\boxed{")
    for k in range(j, len(text)):
        if text[k] == "{":
            depth += 1
        elif text[k] == "}":
            depth -= 1
            if depth == 0:
                return text[j:k].strip()
    return None  # unbalanced braces: no answer rather than half of one


def extract_final(text: str) -> str | None:
    """The final answer a reply states: last `\\boxed{}`, else last `<answer>…</answer>`, else the
    last "Answer:" line; None when there is none. Used on the part after `</think>`.

    >>> extract_final("So \\\\boxed{\\\\frac{1}{2}} it is.")
    '\\\\frac{1}{2}'
    >>> extract_final("<answer> Paris </answer>")
    'Paris'
    """
    boxed = _boxed(text)
    if boxed:
        return boxed
    tags = re.findall(r"<answer>(.*?)</answer>", text, re.S)
    if tags and tags[-1].strip():
        return tags[-1].strip()
    lines = re.findall(r"(?im)\b(?:final answer|answer)\s*[:：]\s*(.+?)\s*$", text)
    if lines:
        return lines[-1].strip().rstrip(".").strip("*$ ") or None
    return None


_NUMBER = re.compile(r"^[-+]?(\d+(\.\d*)?|\.\d+)(e[-+]?\d+)?$", re.I)
_MATHY = re.compile(r"^[\d\s.+\-*/^()=xyzn,]*$|^\\(?:frac|dfrac|sqrt)\{.*\}$|^[-+]?\d+\s*/\s*\d+$")


def as_number(text: str) -> Fraction | None:
    """The number `text` states exactly (int, decimal, fraction, thousands commas, a trailing %
    left as the number), else None.

    >>> as_number("1,200"), as_number("-3/4"), as_number("about 3")
    (Fraction(1200, 1), Fraction(-3, 4), None)
    """
    t = text.strip().strip("$").rstrip(".").strip().replace(",", "")
    t = t[:-1].strip() if t.endswith("%") else t
    m = re.fullmatch(r"([-+]?\d+)\s*/\s*(\d+)", t)
    if m and int(m.group(2)) != 0:
        return Fraction(int(m.group(1)), int(m.group(2)))
    if _NUMBER.match(t):
        try:
            return Fraction(t)
        except (ValueError, ZeroDivisionError):
            return None
    return None


def infer_kind(answer: str) -> str:
    """`"math"` when the answer is a number or a small expression math-verify reads, else
    `"free_form"` (checked by the LLM judge). Units and words make an answer free-form: a model's
    "12 km" against "12,000 m" needs judgement, not string rules.

    >>> infer_kind("3/4"), infer_kind("\\\\frac{1}{2}"), infer_kind("the Treaty of Ghent")
    ('math', 'math', 'free_form')
    """
    t = answer.strip()
    if not t:
        return "free_form"
    if as_number(t) is not None:
        return "math"
    if _MATHY.match(t) and re.search(r"\d", t):
        return "math"
    return "free_form"


def normalise(text: str) -> str:
    """Case-folded words without punctuation, for loose comparisons of short answers.

    >>> normalise("  The Treaty-of Ghent. ")
    'the treaty of ghent'
    """
    return " ".join(re.sub(r"[^\w.%/-]+|(?<!\d)[.](?!\d)|-", " ", text.casefold()).split())


def same_answer(a: str, b: str) -> bool:
    """True when two short answers say the same: equal numbers, or equal after `normalise`.

    >>> same_answer("1,200", "1200.0"), same_answer("Paris.", "paris"), same_answer("3", "4")
    (True, True, False)
    """
    na, nb = as_number(a), as_number(b)
    if na is not None and nb is not None:
        return na == nb
    return bool(normalise(a)) and normalise(a) == normalise(b)


def mentions(text: str, answer: str) -> bool:
    """True when `answer` appears in `text` as whole words (numbers compared as numbers).

    >>> mentions("Alice was taller", "alice"), mentions("It cost 1,200 dollars", "1200")
    (True, True)
    """
    if same_answer(text, answer):
        return True
    na = as_number(answer)
    if na is not None:
        return any(as_number(tok) == na for tok in re.findall(r"[-+]?[\d,]*\.?\d+(?:/\d+)?", text))
    n_ans, n_text = normalise(answer), normalise(text)
    return bool(n_ans) and re.search(rf"(?<!\w){re.escape(n_ans)}(?!\w)", n_text) is not None
