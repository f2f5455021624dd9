"""Answer extraction from model output: where the final answer is stated, and what it says.

`extract(text)` returns an `Extraction` (the answer text and the rule that found it) or None when
nothing answer-like is there; None becomes a `no_answer` verdict, kept apart from a wrong answer.
Rules, first hit wins, all looking only at the visible part (after the last `</think>`; an
unclosed `<think>` means the model never answered):

1. the final `\\boxed{...}` / `\\fbox{...}` (nested braces matched). Boxes joined to it only by
   commas, "and"/"or", math delimiters or labels ("x = \\boxed{2}, y = \\boxed{3}") are parts of
   one answer ("boxed_list", joined with ", "); a box separated by prose is an intermediate
   result and does not count ("boxed_parts='last'" keeps the last box alone);
2. the last `<answer>...</answer>`;
3. the last answer marker: "final answer (is)", "the answer is", "Answer:", Minerva's "Final
   Answer: The final answer is X. I hope it is correct.", GSM8K's "####", a line-initial "A:",
   and the same markers in other languages ("答案：", "la réponse est", "die Antwort ist", ...);
   a marker alone on its line ("**Final Answer**") takes the next line;
4. the whole visible text when it is math and not prose (a matrix, an interval union or a long
   expression are answers whatever their length), or a short single line;
5. a structure or math span the text ends with ("... the point is (1, 2, 3).") ("last_math");
6. the last number (`last_number`), unless it sits inside a structure (a matrix, a tuple, an
   interval, a math span with more than a number): then that whole structure is the answer
   ("last_math"), so a fallback never cuts a structured answer down to one of its numbers.

Math delimiters (`$`, `\\(`, `\\)`) and markdown bold are removed from the answer; `x**2` (a
power) is kept. `extract_choice(text, letters)` finds a multiple-choice letter.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_ANSWER_TAG = re.compile(r"<answer>(.*?)</answer>", re.S | re.I)
# Answer markers. English first (Minerva's "final answer is", "the answer is", "Answer:"), then
# GSM8K's "####" and a line-initial "A:", then the markers multilingual prompts ask for
# (lighteval's translation literals cover the same languages).
_MULTILINGUAL = (
    r"最终答案(?:是|为)?|最后答案(?:是|为)?|答案(?:是|为|应该是)?|答：|"
    r"答え(?:は)?|解答(?:は)?|정답(?:은|는)?|답(?:은|:)|"
    r"la\s+r[ée]ponse(?:\s+finale)?\s+est|r[ée]ponse(?:\s+finale)?\s*[:：]|"
    r"die\s+(?:endg[üu]ltige\s+)?antwort(?:\s+(?:lautet|ist))?|antwort\s*[:：]|ergebnis\s*[:：]|"
    r"la\s+respuesta(?:\s+final)?\s+es|respuesta(?:\s+final)?\s*[:：]|"
    r"a\s+resposta(?:\s+final)?\s+[ée]|resposta(?:\s+final)?\s*[:：]|"
    r"la\s+risposta(?:\s+finale)?\s+[èe]|risposta(?:\s+finale)?\s*[:：]|"
    r"het\s+antwoord\s+is|antwoord\s*[:：]|"
    r"окончательный\s+ответ|ответ\s*(?:[:：]|равен|—|-)|"
    r"jawaban(?:nya)?(?:\s+adalah)?\s*[:：]?|đáp\s+án(?:\s+là)?|cevap\s*[:：]|yan[ıi]t\s*[:：]|"
    r"الإجابة(?:\s+النهائية)?(?:\s+هي)?|الجواب|उत्तर\s*[:：]"
)
_MARKER = re.compile(
    r"(?:final\s+answer(?:\s+is)?|the\s+(?:correct\s+|final\s+)?answer\s+is|\banswer\s*(?:is)?\s*[:：]|"
    r"\banswer\s+is|^[ \t*]*answer(?=\s*(?:\$|\\\(|\\\[))|^\s*####|^[ \t*]*A\s*:|" + _MULTILINGUAL + r")"
    r"\s*\**\s*[:：]?\s*\**\s*(?:is\s*[:：]?\s*)?(?P<ans>[^\n]*)",
    re.I | re.M,
)
_HOPE = re.compile(r"\.?\s*I hope it is correct\.?.*$", re.I | re.S)
_NUMBER = re.compile(r"(?<![A-Za-z0-9_.])-?\d[\d,]*(?:\.\d+)?(?:/\d+)?")
_BOLD_POWER = re.compile(r"(?<=[\w)\]}])\*\*(?=[\w(\[{-])")
_BOLD = re.compile(r"\*\*")
_MATH_DELIM = re.compile(r"(?<!\\)\$+|\\\(|\\\)|\\\[|\\\]")
# Latin words of three letters or more, and runs of two or more letters of other scripts (CJK,
# Arabic, Devanagari...), which are prose as well.
_PROSE_WORD = re.compile(r"(?<![\\a-zA-Z])[a-zA-Z]{3,}|[^\W\d_a-zA-Z\u0370-\u03ff]{2,}")
# LaTeX that is not prose: environments, text-ish commands with their argument, any other command.
_LATEX_WORDS = re.compile(r"\\(?:begin|end|text\w*|math\w*|mbox|operatorname)\s*\{[^{}]*\}|\\[a-zA-Z]+")
_UNIT_WORDS = re.compile(r"\\(?:text\w*|mbox|mathrm)\s*\{[^{}]*\}")
# What may stand between two boxes that form one answer: separators, connectives, math
# delimiters, spacing and labels such as "x =", "x_1 =", "(b)", "and".
_BOX_JOINER = re.compile(
    r"(?:\s|,|;|&|\$|\\\(|\\\)|\\\[|\\\]|\\quad|\\qquad|\\,|\\;|\\ |\\\\|\\text\{\s*(?:and|or|,)?\s*\}|"
    r"\band\b|\bor\b|\(?[a-z]\)|[a-zA-Z](?:_\{?\w+\}?)?\s*=|\\?[a-zA-Z]+\s*\([a-z]\)\s*=)*",
    re.I,
)
_BARE_MAX = 40
_FINAL_IS = re.compile(r"(?:^|[\s,])(?:is|are|equals|was|gives|=)\s*[:：]?\s*", re.I)


@dataclass(frozen=True, slots=True)
class Extraction:
    """An extracted answer and the rule that found it (boxed, boxed_list, answer_tag, marker,
    bare, last_math, last_number)."""

    answer: str
    method: str


def visible_part(text: str) -> str:
    """The text after the last `</think>`; "" when a `<think>` is never closed (no answer given)."""
    if "</think>" in text:
        return text.rsplit("</think>", 1)[1]
    if "<think>" in text:
        return ""
    return text


def _boxes(text: str) -> list[tuple[int, int, str | None]]:
    """Every \\boxed{...}/\\fbox{...}: (start, end, content); content None when cut off unbalanced."""
    out: list[tuple[int, int, str | None]] = []
    for m in re.finditer(r"\\(?:boxed|fbox)\s*(\{)?", text):
        if m.group(1) is None:
            m2 = re.match(r"\\(?:boxed|fbox)\s+([^\s$]+)", text[m.start() :])  # "\boxed 5"
            if m2:
                out.append((m.start(), m.start() + m2.end(), m2.group(1)))
            continue
        depth = 0
        for j in range(m.end() - 1, len(text)):
            c = text[j]
            if c == "{":
                depth += 1
            elif c == "}":
                depth -= 1
                if depth == 0:
                    out.append((m.start(), j + 1, text[m.end() : j].strip()))
                    break
        else:
            out.append((m.start(), len(text), None))
    # a box inside another box is part of the outer one
    return [b for b in out if not any(o[0] < b[0] and b[1] <= o[1] for o in out if o is not b)]


def last_boxed(text: str) -> str | None:
    """Content of the last \\boxed{...} (or \\fbox{...}), with nested braces matched.

    >>> last_boxed("so \\\\boxed{\\\\frac{1}{2}} and")
    '\\\\frac{1}{2}'
    """
    boxes = _boxes(text)
    return boxes[-1][2] if boxes else None


def boxed_answer(text: str, boxed_parts: str = "list") -> tuple[list[str], bool] | None:
    """The content of the final box group and whether the output was cut off inside a box.

    Returns None when there is no box. A group is the last box plus the boxes before it that
    only separators or labels divide from it (see the module docstring).
    """
    boxes = _boxes(text)
    if not boxes:
        return None
    if boxes[-1][2] is None:
        return [], True
    group = [boxes[-1]]
    if boxed_parts == "list":
        for b in reversed(boxes[:-1]):
            between = text[b[1] : group[0][0]]
            if b[2] is None or _BOX_JOINER.fullmatch(between) is None or len(between) > 40:
                break
            group.insert(0, b)
    return [str(b[2]) for b in group], False


def _strip_bold(text: str) -> str:
    return _BOLD.sub("", _BOLD_POWER.sub("\x00", text)).replace("\x00", "**")


def _clean(ans: str) -> str:
    ans = _strip_bold(ans).strip()
    ans = _MATH_DELIM.sub(" ", ans)
    ans = " ".join(ans.split()) if "\n" not in ans.strip() else ans.strip()
    ans = ans.strip().rstrip(".。．").strip()
    return ans.strip(",;:").strip()


def _first_statement(ans: str) -> str:
    """The answer part of a marker line: "$\\frac{3}{4}$. I hope it is correct." -> "$\\frac{3}{4}$".

    Cuts at the first sentence end outside math; a period inside `$...$` or a decimal stays.
    """
    ans = _HOPE.sub("", ans.strip())
    in_math = False
    for i, c in enumerate(ans):
        if c == "$" and (i == 0 or ans[i - 1] != "\\"):
            in_math = not in_math
        elif not in_math and c in ".。" and re.match(r"[.。]\s+(?=[A-Z(])", ans[i:]):
            if not (i > 0 and ans[i - 1].isdigit() and i + 1 < len(ans) and ans[i + 1].isdigit()):
                return ans[:i]
    return ans


def first_number(answer: str) -> str:
    """The first number of a sentence answer ("Janeth will still owe 220 $ in 12 months" -> 220),
    or the structure it sits in; math-verify's and lighteval's marker rules take the first too."""
    for m in _NUMBER.finditer(answer):
        held = _enclosing_structure(answer, m.start())
        if held is not None:
            inner = _clean(answer[held[0] : held[1]])
            if re.fullmatch(r"-?\d[\d,]*(?:\.\d+)?", inner) is None and is_math_like(inner):
                return inner
        return m.group(0).rstrip(".,")
    return answer


def prose_words(text: str) -> int:
    """Words of three or more letters outside LaTeX commands and `\\text{}`-like groups."""
    return len(_PROSE_WORD.findall(_LATEX_WORDS.sub(" ", text)))


def is_math_like(text: str) -> bool:
    """No prose: a formula, a structure, a number with a unit (at most a unit's words)."""
    t = text.strip()
    if not t or not (re.search(r"\d", t) or "\\" in t or re.fullmatch(r"[A-Za-z]", t)):
        return False
    return prose_words(_UNIT_WORDS.sub(" ", t)) == 0 or (len(t) <= _BARE_MAX and prose_words(t) <= 2)


def _marker_answer(visible: str, line_markers: bool) -> str | None:
    markers = [
        m for m in _MARKER.finditer(visible) if line_markers or not re.match(r"[\s*]*A\s*:", m.group(0))
    ]
    for m in reversed(markers):
        rest = m.group("ans")
        inner = list(_MARKER.finditer(rest))  # "Final Answer: The final answer is X"
        if inner and inner[-1].group("ans").strip():
            rest = inner[-1].group("ans")
        if not _clean(rest):  # marker alone on its line ("**Final Answer**"): the next line
            after = visible[m.end() :].strip().splitlines()
            rest = after[0] if after else ""
        ans = _clean(_first_statement(rest))
        if ans:
            return ans
    return None


_CLOSE_FOR = {")": "(", "]": "[", "}": "{"}


def _span_open(text: str, end: int) -> int | None:
    """Start of the bracketed group or math span that closes at `text[end - 1]`."""
    c = text[end - 1]
    if c == "$":
        start = text.rfind("$", 0, end - 1)
        while start > 0 and text[start - 1] in "$\\":
            start -= 1
        return start if start >= 0 else None
    if text.endswith("\\)", 0, end) or text.endswith("\\]", 0, end):
        start = text.rfind("\\(" if c == ")" else "\\[", 0, end - 2)
        return start if start >= 0 else None
    if c in _CLOSE_FOR:
        depth = 0
        for j in range(end - 1, -1, -1):
            if text[j] in _CLOSE_FOR:
                depth += 1
            elif text[j] in "([{":
                depth -= 1
                if depth == 0:
                    # \left( ... and a leading "\{" belong to the group
                    return j - 1 if j > 0 and text[j - 1] == "\\" else j
        return None
    if text.endswith("\\end{", 0, end) or re.search(r"\\end\{\w+\*?\}$", text[:end]):
        begin = text.rfind("\\begin{", 0, end)
        return begin if begin >= 0 else None
    return None


def _enclosing_structure(text: str, pos: int) -> tuple[int, int] | None:
    """The outermost structure (math span, bracket group, environment) holding position `pos`."""
    best: tuple[int, int] | None = None
    for m in re.finditer(r"(?<!\\)\$\$?(.+?)(?<!\\)\$\$?|\\\((.+?)\\\)|\\\[(.+?)\\\]", text, re.S):
        if m.start() < pos < m.end():
            best = (m.start(), m.end())
    if best is not None:
        return best
    stack: list[int] = []
    spans: list[tuple[int, int]] = []
    for i, c in enumerate(text):
        if c in "([{":
            stack.append(i)
        elif c in ")]}" and stack:
            s = stack.pop()
            if not stack:
                spans.append((s, i + 1))
    for m in re.finditer(r"\\begin\{(\w+\*?)\}.*?\\end\{\1\}", text, re.S):
        spans.append((m.start(), m.end()))
    holding = [s for s in spans if s[0] < pos < s[1]]
    return min(holding, key=lambda s: s[0]) if holding else None


def _fallback(visible: str, last_number: bool) -> Extraction | None:
    body = _strip_bold(visible).rstrip()
    body = re.sub(r"[\s.。!,;:]+$", "", body)
    # 5. a structure or math span the text ends with
    if body:
        start = _span_open(body, len(body))
        if start is not None:
            ans = _clean(body[start:])
            if ans and is_math_like(ans) and len(ans) > 0:
                return Extraction(ans, "last_math")
    # 5b. a final sentence "... is X" / "... = X" whose X is math
    last_line = body.rsplit("\n", 1)[-1]
    for m in reversed(list(_FINAL_IS.finditer(last_line))):
        ans = _clean(last_line[m.end() :])
        if ans and is_math_like(ans) and prose_words(_UNIT_WORDS.sub(" ", ans)) == 0:
            return Extraction(ans, "last_math")
    # 6. the last number, or the structure it sits in
    nums = list(_NUMBER.finditer(body))
    if not nums:
        return None
    last = nums[-1]
    held = _enclosing_structure(body, last.start())
    if held is not None:
        ans = _clean(body[held[0] : held[1]])
        if ans and re.fullmatch(r"-?\d[\d,]*(?:\.\d+)?", ans) is None:
            return Extraction(ans, "last_math") if is_math_like(ans) else None
    if not last_number:
        return None
    return Extraction(last.group(0).rstrip(".,"), "last_number")


def extract(
    text: str | None, line_markers: bool = True, boxed_parts: str = "list", last_number: bool = True
) -> Extraction | None:
    """The final answer stated in `text` and how it was found, or None.

    `line_markers=False` skips the line-initial "A:" marker (multiple choice uses letters there);
    `boxed_parts="last"` keeps only the last box; `last_number=False` never falls back to the
    last number of prose.

    >>> extract("<think>...</think> The answer is \\\\boxed{\\\\frac{1}{2}}.")
    Extraction(answer='\\\\frac{1}{2}', method='boxed')
    >>> extract("So $x = \\\\boxed{1}$ or $x = \\\\boxed{2}$.").answer
    '1, 2'
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
    boxed = boxed_answer(visible, boxed_parts)
    if boxed is not None:
        parts, cut_off = boxed
        if cut_off:
            return None  # cut off inside its final box: it never finished answering
        parts = [_clean(p) for p in parts]
        if not all(parts):
            return None
        return (
            Extraction(parts[0], "boxed") if len(parts) == 1 else Extraction(", ".join(parts), "boxed_list")
        )
    tags = _ANSWER_TAG.findall(visible)
    if tags:
        ans = _clean(tags[-1])
        return Extraction(ans, "answer_tag") if ans else None
    ans = _marker_answer(visible, line_markers)
    if ans:
        return Extraction(ans, "marker")
    stripped = visible.strip()
    lines = [ln for ln in stripped.splitlines() if ln.strip()]
    if len(lines) == 1 and len(lines[0].strip()) <= _BARE_MAX:
        ans = _clean(lines[0])
        if ans and (
            prose_words(_UNIT_WORDS.sub(" ", ans)) <= 1 or (not _NUMBER.search(ans) and len(ans.split()) <= 3)
        ):
            return Extraction(ans, "bare")
    if prose_words(_UNIT_WORDS.sub(" ", stripped)) == 0 and is_math_like(stripped):
        ans = _clean(stripped)
        if ans:
            return Extraction(ans, "bare")
    return _fallback(visible, last_number)


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
    found = extract(visible, line_markers=False, boxed_parts="last")
    if found is not None and found.method not in ("last_number", "last_math"):
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
