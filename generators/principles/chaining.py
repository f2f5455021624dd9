"""Chaining: bridging over more than two hops, A feeds B feeds C (and so on).

The composition depth is the number of parents (the rule's `hops`, at least 3 here). Every
intermediate answer must be an integer, because it becomes an input of the next family's problem;
the gold answer is the last family's answer, computed with the real values substituted.
"""

from __future__ import annotations

from reasonmill.generators.principles.bridging import Bridging
from reasonmill.generators.registry import PRINCIPLES


class Chaining(Bridging):
    """Bridging with three or more hops; each part's answer is an input of the next part."""

    name = "chaining"
    description = "answer of part k feeds part k+1, over 3+ hops"
    min_hops = 3


PRINCIPLES.register(Chaining.name, Chaining())
