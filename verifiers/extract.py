"""Answer extraction from model output: boxed, <answer> tags, "Answer:", "the answer is", last number.

Returns the answer text, or None when nothing answer-like is found (a `no_answer` verdict, kept
apart from a wrong answer). A prediction that is already a bare answer (short, no markers) is
returned as it is.
"""

from __future__ import annotations

import re

_ANSWER_TAG = re.compile(r"<answer>(.*?)</answer>", re.S | re.I)
_ANSWER_LINE = re.compile(r"(?:final answer|the answer is|answer)\s*(?:is)?\s*[:：]?\s*(.+)", re.I)
_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?(?:/\d+)?")
_THINK = re.compile(r"<think>.*?</think>", re.S)


def last_boxed(text: str) -> str | None:
    """Content of the last \\boxed{...} (or \\fbox{...}), with nested braces matched."""
    start = max(text.rfind("\\boxed"), text.rfind("\\fbox"))
    if start < 0:
        return None
    i = text.find("{", start)
    if i < 0:
        # "\boxed 5" form
        m = re.match(r"\\(?:boxed|fbox)\s+([^\s$]+)", text[start:])
        return m.group(1) if m else None
    depth = 0
    for j in range(i, len(text)):
        c = text[j]
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return text[i + 1 : j].strip()
    return None


def _clean(ans: str) -> str:
    ans = ans.strip().strip("$").strip()
    return ans.rstrip(".").strip()


def extract_answer(text: str | None) -> str | None:
    """The final answer stated in `text`, or None.

    >>> extract_answer("<think>...</think> The answer is \\\\boxed{\\\\frac{1}{2}}.")
    '\\\\frac{1}{2}'
    >>> extract_answer("so we get 12 apples.\\nAnswer: 12")
    '12'
    """
    if text is None:
        return None
    if not text.strip():
        return None
    boxed = last_boxed(text)
    if boxed is not None:
        return boxed or None
    tags = _ANSWER_TAG.findall(text)
    if tags:
        return _clean(tags[-1]) or None
    # Only look outside the thinking for answer lines and numbers.
    visible = _THINK.sub("", text) if "</think>" in text else text
    lines = [ln for ln in visible.strip().splitlines() if ln.strip()]
    if len(lines) == 1 and len(lines[0]) <= 40 and not _ANSWER_LINE.search(lines[0]):
        return _clean(lines[0]) or None
    for line in reversed(lines):
        m = _ANSWER_LINE.search(line)
        if m:
            return _clean(m.group(1)) or None
    nums = _NUMBER.findall(visible)
    if nums:
        return nums[-1].rstrip(".")
    return None
