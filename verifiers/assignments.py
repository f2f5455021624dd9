"""Answers that assign a role to each person ("Ada=knave, Ben=knight"), read from any wording.

Knights-and-knaves puzzles (our family's gold is "Ada=knave, Ben=knight, Cal=knight") are
answered in sentences as often as in the gold's own format: "Ada is a knave, Ben is a knight,
and Cal is a knight.", "Ben and Cal are knights; Ada is a knave.", "**Ada**: knave". The exact
verifier compares such answers as a mapping from name to role, in any order, when the gold is an
assignment list; reasoning-gym's knights-and-knaves scorer does the same (a set of (name, role)
pairs). Only the final statement counts: the extracted answer when there is one (box, tag,
marker), else the last paragraph, else the last lines, never statements made while reasoning.
"""

from __future__ import annotations

import re

_GOLD_PART = re.compile(r"^\s*([A-Za-z][\w'-]*)\s*=\s*([A-Za-z]+)\s*$")
_SINGULAR = {"knights": "knight", "knaves": "knave"}


def gold_assignments(gold: str) -> dict[str, str] | None:
    """The name -> role mapping of an assignment-list gold, or None when `gold` is not one.

    >>> gold_assignments("Ada=knave, Ben=knight")
    {'ada': 'knave', 'ben': 'knight'}
    """
    parts = gold.split(",")
    out: dict[str, str] = {}
    for p in parts:
        m = _GOLD_PART.match(p)
        if not m:
            return None
        out[m.group(1).lower()] = m.group(2).lower()
    return out if len(out) == len(parts) else None


def _roles(gold: dict[str, str]) -> set[str]:
    roles = set(gold.values())
    if roles & {"knight", "knave"}:
        roles |= {"knight", "knave"}
    return roles


def read_assignments(text: str, names: list[str], roles: set[str]) -> dict[str, str]:
    """Every role `text` gives to one of `names`; a later statement about a name wins."""
    role_re = "|".join(sorted({*roles, *(r + "s" for r in roles)}, key=len, reverse=True))
    name_re = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
    t = re.sub(r"[*_`]", "", text)
    found: list[tuple[int, str, str]] = []
    single = re.compile(
        rf"\b({name_re})\b\s*(?:=|:|-|is\s+(?:a|an|the)?|was\s+(?:a|an)?|->|→)?\s*(?:a|an)?\s*\b({role_re})\b",
        re.I,
    )
    for m in single.finditer(t):
        found.append((m.start(), m.group(1).lower(), m.group(2).lower()))
    group = re.compile(
        rf"\b((?:(?:{name_re})\s*(?:,\s*|\s+and\s+|\s*&\s*))+(?:{name_re}))\s+(?:are|were)\s+(?:both\s+|all\s+)?({role_re})\b",
        re.I,
    )
    for m in group.finditer(t):
        for n in re.findall(rf"\b({name_re})\b", m.group(1), re.I):
            found.append((m.start(), n.lower(), m.group(2).lower()))
    out: dict[str, str] = {}
    for _, name, role in sorted(found):
        out[name] = _SINGULAR.get(role, role)
    return out


def final_assignments(answer: str | None, visible: str, gold: dict[str, str]) -> dict[str, str] | None:
    """The assignment a prediction ends with, covering every gold name, or None."""
    names, roles = list(gold), _roles(gold)
    candidates = []
    if answer:
        candidates.append(answer)
    body = visible.strip()
    paragraphs = [p for p in re.split(r"\n\s*\n", body) if p.strip()]
    if paragraphs:
        candidates.append(paragraphs[-1])
    lines = [ln for ln in body.splitlines() if ln.strip()]
    candidates.append("\n".join(lines[-3:]))
    for c in candidates:
        got = read_assignments(c, names, roles)
        if set(got) >= set(names):
            return {n: got[n] for n in names} | {k: v for k, v in got.items() if k not in gold}
    return None
