"""Text measures shared by every stage.

`count_tokens` approximates a subword tokenizer (words, numbers and punctuation marks each count
once) so programmatic traces, which have no model tokenizer, are measured on the same scale every
time. LLM traces use the token counts their backend reports.
"""

from __future__ import annotations

import re

_TOKEN = re.compile(r"\w+|[^\w\s]")

# Paragraphs that open with one of these start a new thought (Retro-Search segmentation). Shared by
# the narrating solvers that write switches and by Retro-Search, which splits traces at them.
TRANSITION_KEYWORDS: tuple[str, ...] = (
    "Wait",
    "But wait",
    "Alternatively",
    "Hmm",
    "However",
    "Let me double-check",
    "Another approach",
)


def count_tokens(text: str) -> int:
    """Approximate token count of `text`.

    >>> count_tokens("Step 1: 3 + 4 = 7.")
    9
    """
    return len(_TOKEN.findall(text))


def split_paragraphs(text: str) -> list[str]:
    """Non-empty paragraphs of `text`, split at blank lines."""
    return [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
