"""GBNF grammars (llama.cpp's `grammar` request field, sent through a backend's `extra_body`) that
make the random-weight model's replies parseable by the LLM stages.

The model still chooses every token the grammar allows (which words, which tokenization of the
fixed text, which digit), so replies differ by seed and sample; only their shape is fixed. The
answer is one digit, right or wrong as the random model picks it: a question is verified only
when the model happens to box its gold, which is what the verify, Retro-Search and student stages
then measure.
"""

from __future__ import annotations

_COMMON = r"""
step   ::= word (" " word){1,4} "."
word   ::= "we" | "add" | "take" | "the" | "sum" | "so" | "check" | "it" | "is" | "ten" | "two" | "then" | "next" | "value"
answer ::= [0-9]
"""

TEACHER = (
    r"""root ::= "<think>\n" step "\n\nWait, " step ("\n\n" step)? "\n</think>\n\nThe answer is \\boxed{" answer "}."
"""
    + _COMMON
)
"""A teacher trace: a first step, a switch ("Wait, ...", so Retro-Search has a boundary), maybe a
third step, then the boxed answer: `<think>\\n…\\n\\nWait, …\\n</think>\\n\\nThe answer is \\boxed{7}.`"""

CONTINUATION = (
    r"""root ::= (step "\n")? "</think>\n\nThe answer is \\boxed{" answer "}."
"""
    + _COMMON
)
"""What follows a Retro-Search prefix (the trace up to a blank line inside the thinking): at most
one more step, never opening with a transition word, then the close and the boxed answer."""

JUDGE = 'root ::= "0" | "1"\n'
"""The judge's one digit."""

STUDENT = (
    r"""root ::= step " So the result is \\boxed{" answer "}."
"""
    + _COMMON
)
"""A student's short reply with a boxed answer."""
