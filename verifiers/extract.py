"""Answer extraction from model output: boxed, <answer> tags, answer markers, last number, letters.

`extract(text)` returns an `Extraction` (the answer text and the rule that found it) or None when
nothing answer-like is there; None becomes a `no_answer` verdict, kept apart from a wrong answer.
Rules, first hit wins, all looking only at the visible part (after the last `</think>`; an
unclosed `<think>` means the model never answered):

1. the last `\\boxed{...}` / `\\fbox{...}` (nested braces matched);
2. the last `<answer>...</answer>`;
3. the last answer marker: "final answer", "the answer is", "Answer:", GSM8K's "####" and a
   line-initial "A:";
4. a short single-line output, taken as a bare answer;
5. the last number.

`extract_choice(text, letters)` finds a multiple-choice letter: "(B)", "B)", "answer is B",
`\\boxed{B}`, "\\text{(B)}", "Option B".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_ANSWER_TAG = re.compile(r"<answer>(.*?)</answer>", re.S | re.I)
_MARKER = re.compile(
    r"(?:final\s+answer(?:\s+is)?|the\s+(?:correct\s+)?answer\s+is|\banswer\s*(?:is)?\s*[:：]|^\s*####|^\s*A\s*:)"
    r"\s*[:：]?\s*(?:is\s*[:：]?\s*)?(?P<ans>[^\n]*)",
    re.I | re.M,
)
_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?(?:/\d+)?")
_BOLD = re.compile(r"\*\*|__")
_BARE_MAX = 40


@dataclass(frozen=True, slots=True)
class Extraction:
    """An extracted answer and the rule that found it (boxed, answer_tag, marker, bare, last_number)."""

    answer: str
    method: str


def visible_part(text: str) -> str:
    """The text after the last `</think>`; "" when a `<think>` is never closed (no answer given)."""
    if "</think>" in text:
        return text.rsplit("</think>", 1)[1]
    if "<think>" in text:
        return ""
    return text


def last_boxed(text: str) -> str | None:
    """Content of the last \\boxed{...} (or \\fbox{...}), with nested braces matched.

    >>> last_boxed("so \\\\boxed{\\\\frac{1}{2}} and")
    '\\\\frac{1}{2}'
    """
    start = max(text.rfind("\\boxed"), text.rfind("\\fbox"))
    if start < 0:
        return None
    rest = text[start:]
    m = re.match(r"\\(?:boxed|fbox)\s*\{", rest)
    if not m:
        m2 = re.match(r"\\(?:boxed|fbox)\s+([^\s$]+)", rest)  # "\boxed 5"
        return m2.group(1) if m2 else None
    i = start + m.end() - 1
    depth = 0
    for j in range(i, len(text)):
        c = text[j]
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return text[i + 1 : j].strip()
    return None  # unbalanced: the model was cut off inside the box


def _clean(ans: str) -> str:
    ans = _BOLD.sub("", ans).strip()
    ans = re.sub(r"^\\\[|\\\]$|^\\\(|\\\)$", "", ans).strip()
    ans = ans.strip("$").strip()
    ans = ans.rstrip(".。").strip()
    return ans.strip("$").strip()


def _first_statement(ans: str) -> str:
    """The answer part of a marker line: "$\\frac{3}{4}$. I hope it is correct." -> "$\\frac{3}{4}$"."""
    ans = ans.strip()
    if ans.startswith("$") and not ans.startswith("$$"):
        end = ans.find("$", 1)
        if end > 0:
            return ans[: end + 1]
    return re.split(r"(?<=[^\d\s])\.\s+(?=[A-Z])|(?<=\d)\.\s+(?=[A-Z])", ans, maxsplit=1)[0]


def extract(text: str | None, line_markers: bool = True) -> Extraction | None:
    """The final answer stated in `text` and how it was found, or None.

    `line_markers=False` skips the line-initial "A:" marker (multiple choice uses letters there).

    >>> extract("<think>...</think> The answer is \\\\boxed{\\\\frac{1}{2}}.")
    Extraction(answer='\\\\frac{1}{2}', method='boxed')
    >>> extract("16 - 3 = 13 eggs\\nA: 26").answer
    '26'
    >>> extract("I am not sure.") is None
    True
    """
    if text is None or not text.strip():
        return None
    visible = visible_part(text)
    if not visible.strip():
        return None
    boxed = last_boxed(visible)
    if boxed is not None:
        return Extraction(boxed, "boxed") if boxed.strip() else None
    if "\\boxed" in visible or "\\fbox" in visible:
        return None  # cut off inside its final box: it never finished answering
    tags = _ANSWER_TAG.findall(visible)
    if tags:
        ans = _clean(tags[-1])
        return Extraction(ans, "answer_tag") if ans else None
    markers = [m for m in _MARKER.finditer(visible) if line_markers or not re.match(r"\s*A\s*:", m.group(0))]
    for m in reversed(markers):
        ans = _clean(_first_statement(m.group("ans")))
        if ans:
            return Extraction(ans, "marker")
    lines = [ln for ln in visible.strip().splitlines() if ln.strip()]
    if len(lines) == 1 and len(lines[0].strip()) <= _BARE_MAX:
        ans = _clean(lines[0])
        if ans and (_NUMBER.search(ans) or "\\" in ans or len(ans.split()) <= 3):
            return Extraction(ans, "bare")
    nums = _NUMBER.findall(visible)
    if nums:
        return Extraction(nums[-1].rstrip(".,"), "last_number")
    return None


def extract_answer(text: str | None) -> str | None:
    """The final answer stated in `text`, or None (see `extract` for the rules).

    >>> extract_answer("so we get 12 apples.\\nAnswer: 12")
    '12'
    """
    found = extract(text)
    return found.answer if found else None


def _letter_in(answer: str, letters: str) -> str | None:
    """The choice letter an extracted answer names ("B", "(B)", "B) 42", "\\text{B}", "Option B")."""
    a = re.sub(r"\\(?:text|textbf|mathrm|mathbf)\{([^}]*)\}", r"\1", answer).strip().strip("*$ ").strip()
    cls = f"[{re.escape(letters)}]"
    for pat in (
        rf"^\(?({cls})\)?$",
        rf"^\(?({cls})[).:]\s",
        rf"^\(({cls})\)",
        rf"^(?:option|choice)\s*\(?({cls})\)?\b",
    ):
        m = re.match(pat, a, re.I)
        if m:
            return m.group(1).upper()
    return None


def extract_choice(text: str | None, letters: str = "ABCDEFGHIJ") -> str | None:
    """The multiple-choice letter a model output commits to (upper case), or None.

    >>> extract_choice("Comparing the options, the answer is (C).")
    'C'
    >>> extract_choice("\\\\boxed{B}")
    'B'
    """
    if text is None:
        return None
    visible = visible_part(text)
    found = extract(visible, line_markers=False)
    if found is not None and found.method != "last_number":
        letter = _letter_in(found.answer, letters)
        if letter:
            return letter
    cls = f"[{re.escape(letters)}]"
    hits = list(
        re.finditer(
            rf"(?:answer|option|choice|choose|pick|select)\s*(?:is|:)?\s*(?:option\s*)?[:(]?\s*\(?({cls})\)?(?![A-Za-z])",
            visible,
            re.I,
        )
    )
    if hits:
        return hits[-1].group(1).upper()
    lines = [ln.strip() for ln in visible.strip().splitlines() if ln.strip()]
    if lines:
        m = re.fullmatch(rf"\(?({cls})\)?\.?", lines[-1].strip("*$ "))
        if m:
            return m.group(1).upper()
    return None
