"""Procedural families, one per module; each registers itself in `FAMILIES` at import.

Search families narrate a depth-first search (`reasonmill.generators.search`): countdown, sudoku,
zebra, knights_knaves, shortest_path (branch and bound), quadratic_equation and polynomial_roots
(the rational root search). Families without search narrate a calculation with its real slips and
checks (`reasonmill.generators.calc`). The reasoning-gym adapter narrates its reference answer only.

Answer formats (the gold string; every solver trace ends `The answer is \\boxed{ANSWER}.`):

kind "math" (checked by math equivalence; canonical strings sympy parses):
    arithmetic_chain, arithmetic_expression, gcd_lcm, modular_power, prime_factors
                        an integer: "42", "-7"
    linear_equation, counting
                        an integer or a reduced fraction: "-5/7"
    quadratic_equation, polynomial_roots
                        the SET of distinct roots, ascending, in braces: "{-2, 1/3, 4}"
                        (order-free; a double root is "{3}")
    linear_system       the ORDERED tuple of the unknowns in the order named: "(2, -3, 1/2)"
kind "exact" (compared after normalising whitespace and case):
    sudoku              81 digits, row by row, no separators
    knights_knaves      "Name=knight, Name=knave, ..." sorted by name, ", " between people
    zebra               the owner's name: "Carol"
    shortest_path       node letters joined by " -> ": "A -> D -> C"
kind "countdown":
    countdown           JSON {"numbers", "target", "expression"} for the countdown verifier,
                        which accepts any valid expression; the gold expression is the one a
                        best-first search finds first, "*" and "/" for × and ÷, single spaces
                        around operators, minimal parentheses: "1 + 6 * (25 - 7)"; a trace
                        boxes the expression its own search found
kind "reasoning_gym":
    reasoning_gym       compact JSON {"task", "config", "entry"} for the task's own scorer; the
                        trace boxes the task's reference answer (`Family.shown_answer`)

Composition principles (generators/principles/) give kind "math": bridging and chaining the last
part's answer, comparison a number (the largest answer, or a difference), conjunction the
ordered tuple of the parts' answers "(A, B)".
"""
