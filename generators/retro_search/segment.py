"""Segmentation: a trace's thinking cut into thoughts at switches, thoughts into steps.

A *step* is a paragraph of the thinking (blank lines separate steps); a *thought* is a run of
steps from one switch to the next, a switch being a paragraph that opens with a transition
keyword ("Wait", "Alternatively", ...). The <think> wrapper and the answer line are not steps.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from reasonmill.text import TRANSITION_KEYWORDS, split_paragraphs

_OPEN, _CLOSE = "<think>", "</think>"


@dataclass(slots=True)
class TraceParts:
    """A trace cut into what precedes the thinking (`head`, e.g. "<think>\\n"), the thinking's
    paragraphs (the steps) and what follows it (`tail`, from "</think>" to the end).

    A text without "</think>" is all thinking: its tail is empty.
    """

    head: str
    paragraphs: list[str]
    tail: str

    @classmethod
    def parse(cls, text: str) -> TraceParts:
        """Split `text`; `TraceParts.parse(t).join() == t` for traces in the teacher's fixed format."""
        start = text.find(_OPEN)
        head = "" if start < 0 else text[: start + len(_OPEN)].rstrip() + "\n"
        body_start = 0 if start < 0 else start + len(_OPEN)
        close = text.find(_CLOSE, body_start)
        body, tail = (text[body_start:], "") if close < 0 else (text[body_start:close], text[close:])
        return cls(head, split_paragraphs(body), tail)

    def join(self) -> str:
        """The text back, paragraphs separated by one blank line (the step separator)."""
        return self.head + "\n\n".join(self.paragraphs) + ("\n" + self.tail if self.tail else "")

    def prefix(self, k: int) -> str:
        """The text a reviser continues after the first `k` paragraphs: it ends with a blank line,
        so the continuation opens a new step."""
        return self.head + "".join(p + "\n\n" for p in self.paragraphs[:k])


@dataclass(slots=True)
class Thought:
    """A run of steps from one switch to the next. `start` is the index of its first paragraph in
    the trace's thinking; `keyword` is the transition word that opened it (None for the first)."""

    index: int
    start: int
    steps: list[str]
    keyword: str | None = None

    @property
    def end(self) -> int:
        """Paragraph index just past this thought: the boundary where a rollout starts."""
        return self.start + len(self.steps)


def opening_keyword(paragraph: str, keywords: Sequence[str] = TRANSITION_KEYWORDS) -> str | None:
    """The transition keyword `paragraph` opens with (whole word, any case, markdown emphasis
    ignored), else None. Longer keywords win, so "But wait" is reported rather than "But".

    >>> opening_keyword("**Wait**, that is wrong."), opening_keyword("Waiting is over.")
    ('Wait', None)
    """
    head = paragraph.lstrip(" \t*_#>-").lower()
    for word in sorted(keywords, key=len, reverse=True):
        w = word.strip().lower()
        if w and head.startswith(w) and not re.match(r"\w", head[len(w) : len(w) + 1]):
            return word
    return None


def segment(text: str, keywords: Sequence[str] = TRANSITION_KEYWORDS) -> list[Thought]:
    """Split a trace's thinking into thoughts at paragraphs opening with a keyword, and thoughts
    into steps at blank lines. The <think> wrapper and the answer line are not steps.

    A trace with no switch is one thought; an empty thinking gives no thoughts.
    """
    thoughts: list[Thought] = []
    for i, para in enumerate(TraceParts.parse(text).paragraphs):
        kw = opening_keyword(para, keywords)
        if not thoughts or kw is not None:
            thoughts.append(Thought(len(thoughts), i, [], kw))
        thoughts[-1].steps.append(para)
    return thoughts
