"""Warm math-verify's parser before workers fork, so every worker starts fast.

math-verify parses LaTeX with an ANTLR grammar whose prediction tables (DFA) are built lazily
and cached per process: the first few hundred parses of a fresh process cost 5–10× more than
later ones, and sympy loads submodules on first use. The pool's forkserver imports this module
once; the workers it forks inherit the warm tables copy-on-write. Importing it costs ~1 s.
"""

from __future__ import annotations

SAMPLES = (
    "\\frac{1}{2}",
    "-\\dfrac{3}{4}",
    "\\sqrt{2}",
    "2\\sqrt{3}+1",
    "\\frac{\\sqrt{3}}{2}",
    "3\\pi",
    "\\frac{\\pi}{6}",
    "x^2 + 2x + 1",
    "(x+1)(x-2)",
    "y = 2x + 3",
    "x \\le 5",
    "[2, 5)",
    "(-\\infty, 3] \\cup (4, \\infty)",
    "\\{1, 2, 3\\}",
    "(3, \\frac{\\pi}{2})",
    "\\left( 1, -2 \\right)",
    "\\begin{pmatrix} 1 \\\\ -2 \\end{pmatrix}",
    "\\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix}",
    "\\text{Evelyn}",
    "90^\\circ",
    "25\\%",
    "1+274i",
    "\\sin x",
    "\\cos^2 \\theta",
    "\\tan \\frac{\\pi}{8}",
    "\\log_2 8",
    "\\ln 2",
    "e^{i\\pi}",
    "4210_{5}",
    "\\binom{10}{3}",
    "5!",
    "|x - 1|",
    "\\pm 3",
    "2 \\cdot 3",
    "6 \\times 10^{4}",
    "0.\\overline{3}",
    "a^{b^c}",
    "\\frac{a+b}{c-d}",
    "11,\\! 111,\\! 100",
    "\\$18.50",
    "12 \\text{ cm}^2",
    "p - q",
    "-\\frac{7}{2}",
)


def warm() -> None:
    """Load every registered verifier module, then parse and compare the samples once (errors
    ignored: warming must never fail an import). Loaded here, in the forkserver, the registry and
    its modules are inherited by every worker, so a fresh worker's first check costs no imports."""
    try:
        from reasonmill.verifiers.base import VERIFIERS

        VERIFIERS.names()
    except Exception:
        pass
    try:
        from math_verify import verify

        import reasonmill.verifiers.math_equivalence as me

        me._silence_math_verify()
        prev = None
        for s in SAMPLES:
            p = list(me.mv_parse(s))  # the verifier's own extraction configs
            if prev is not None:
                verify(prev, p, timeout_seconds=None)
            prev = p
        me.mv_parse.cache_clear()  # warm tables, but no cached answers
    except Exception:
        pass


warm()
