"""Answers with several parts: bare lists, solution lists, and how two of them are matched.

A bare list ("3, 1, 2") is compared in order, or as a permutation under
`VerifyPolicy.unordered_lists`. A solution statement is a set whatever that switch says (under
`unordered_solutions`, on by default): parts joined by "or" ("x = 1 or x = 2", "21, 16 or 11"),
one variable assigned in every part ("x=2, x=3"), and solution tuples joined by ";"
("p=5, q=2; p=7, q=2" is the set of (5, 2) and (7, 2)). Assignments to different variables in
one part ("p=5, q=2") are one tuple, written in the order given. Braced sets, intervals and
bracketed tuples are not split here: math-verify reads them with their mathematical meaning.

A permutation match is a multiset match: "1, 2, 2" is not "1, 1, 2".
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from reasonmill.verifiers.base import VerifyPolicy
from reasonmill.verifiers.numbers import _THOUSANDS, split_top, tidy

_CONNECTIVE = re.compile(
    r"\s*(?:\\(?:text|mbox|textrm)\s*\{\s*(?:and|or)\s*\}|\\quad|\\qquad|(?<![A-Za-z\\])(?:and|or)(?![A-Za-z]))\s*"
)
_OR = re.compile(r"\\(?:text|mbox|textrm)\s*\{\s*or\s*\}|(?<![A-Za-z\\])or(?![A-Za-z])")
_ASSIGNMENT = re.compile(r"^\s*(?P<var>[a-zA-Z](?:_\{?\w+\}?)?|\\[a-zA-Z]+)\s*=\s*(?P<value>[^=<>]+?)\s*$")


@dataclass(frozen=True, slots=True)
class Parts:
    """The elements of a multi-part answer and whether their order matters."""

    items: tuple[str, ...]
    solutions: bool  # a solution set: matched as a multiset under `unordered_solutions`


def _depth0_connectives(t: str) -> str:
    """Replace top-level "and"/"or"/`\\quad` connectives with commas."""
    out, depth, i = [], 0, 0
    while i < len(t):
        c = t[i]
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        if depth == 0:
            m = _CONNECTIVE.match(t, i)
            if m and m.end() > i and (i == 0 or t[i - 1] in " ,}$\\" or t[i] == "\\"):
                out.append(",")
                i = m.end()
                continue
        out.append(c)
        i += 1
    return "".join(out)


def _assignment(part: str) -> tuple[str, str] | None:
    m = _ASSIGNMENT.match(part)
    return (m.group("var"), m.group("value").strip()) if m else None


def _solution(parts: list[str]) -> str | None:
    """A part list that assigns different variables ("p=5, q=2") as one tuple "(5, 2)"."""
    pairs = [_assignment(p) for p in parts]
    if len(parts) >= 2 and all(pairs) and len({p[0] for p in pairs if p}) == len(parts):
        return "(" + ", ".join(p[1] for p in pairs if p) + ")"
    return None


def answer_parts(text: str, policy: VerifyPolicy) -> Parts | None:
    """The parts of a multi-part answer, or None when `text` is a single answer.

    >>> answer_parts("21, 16 or 11", VerifyPolicy())
    Parts(items=('21', '16', '11'), solutions=True)
    >>> answer_parts("p=5, q=2; p=7, q=2", VerifyPolicy()).items
    ('(5, 2)', '(7, 2)')
    >>> answer_parts("(1, 2)", VerifyPolicy()) is None
    True
    """
    t = tidy(text)
    if len(t) > 2000 or not re.search(r"[,;]|(?<![A-Za-z])(?:and|or)(?![A-Za-z])|\\quad", t):
        return None
    if policy.thousands_separators and _THOUSANDS.fullmatch(t):
        return None
    has_or = bool(_OR.search(t))
    if ";" in t and len(split_top(t, ";")) > 1:
        chunks = [c for c in split_top(t, ";") if c]
        items = []
        for c in chunks:
            sub = split_top(_depth0_connectives(c))
            items.append(_solution(sub) or (c if len(sub) == 1 else "(" + ", ".join(sub) + ")"))
        return Parts(tuple(items), True) if len(items) > 1 else None
    parts = [p for p in split_top(_depth0_connectives(t))]
    if len(parts) < 2 or any(not p for p in parts):
        return None
    tuple_form = _solution(parts)
    if tuple_form is not None:
        return None if not has_or else Parts((tuple_form,), True)
    pairs = [_assignment(p) for p in parts]
    if all(pairs) and len({p[0] for p in pairs if p}) == 1:  # x=2, x=3: the solutions of x
        return Parts(tuple(p[1] for p in pairs if p), True)
    # a list of bracketed tuples ("(5, 2), (7, 2)") is a set of solutions (points, pairs)
    tuples = all(re.fullmatch(r"\\?(?:left)?\(.*,.*\\?(?:right)?\)", p, re.S) for p in parts)
    return Parts(tuple(parts), has_or or tuples)


def single_assignment_tuple(text: str) -> str | None:
    """ "p=5, q=2" written as the tuple "(5, 2)", else None."""
    t = tidy(text)
    return _solution(split_top(t)) if "," in t else None


def parts_match(gold: Parts, pred: Parts, policy: VerifyPolicy, same: Callable[[str, str], bool]) -> bool:
    """Whether the parts agree: in order, or as multisets for solution sets and unordered lists."""
    if len(gold.items) != len(pred.items):
        return False
    unordered = policy.unordered_lists or (policy.unordered_solutions and (gold.solutions or pred.solutions))
    if not unordered:
        return all(same(g, p) for g, p in zip(gold.items, pred.items, strict=True))
    unused = list(pred.items)
    for g in gold.items:
        hit = next((i for i, p in enumerate(unused) if same(g, p)), None)
        if hit is None:
            return False
        unused.pop(hit)
    return True
