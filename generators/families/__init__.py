"""Procedural families, one per module; each registers itself in `FAMILIES` at import.

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
    countdown           the expression the solver's search finds first, "*" and "/" for
                        × and ÷, single spaces around operators, minimal parentheses:
                        "1 + 6 * (25 - 7)" (other valid expressions exist; exact under-credits)
kind "reasoning_gym":
    reasoning_gym       compact JSON {"task", "config", "entry"} for the task's own scorer; the
                        trace boxes the task's reference answer (`Family.shown_answer`)

Composition principles (generators/compose/) give kind "math": bridging and chaining the last
part's answer, comparison a number (the largest answer, or a difference), conjunction the
ordered tuple of the parts' answers "(A, B)".
"""
