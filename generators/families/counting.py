"""Combinatorics and probability: choose, arrange, and draw without replacement.

Level 1: arrangements of r of n people in a row (nPr). Level 2: committees (nCr). Level 3:
arrangements of the letters of a word with repeated letters (multinomial). Level 4: probability
that a draw of k balls has exactly j red (hypergeometric, a reduced fraction). Level 5: the same
with at least j red (a sum of hypergeometric terms). The solver states the model and multiplies
it out factor by factor; its wrong branches use a wrong counting model (order mattering when it
does not, drawing with replacement, ignoring repeats, ...), test it on a tiny case, and go back.
"""

from __future__ import annotations

import random
from fractions import Fraction
from math import comb, factorial, perm

from reasonmill.generators.base import Family, FamilyParams, SolverRun, canon, detour, finish, spread
from reasonmill.generators.registry import FAMILIES
from reasonmill.records import Problem


def _product(factors: list[int]) -> str:
    return " × ".join(map(str, factors))


class Counting(Family):
    """Count arrangements and selections, or a probability as a reduced fraction."""

    name = "counting"
    description = "permutations, combinations, multinomials and hypergeometric probabilities"

    def generate(self, rng: random.Random, params: FamilyParams) -> Problem:
        lv = params.level
        if lv <= 2:
            n = rng.randint(5, 12)
            r = rng.randint(2, min(5, n - 1))
            spec = {"type": "perm" if lv == 1 else "comb", "n": n, "r": r}
            q = (
                f"In how many ways can {r} of {n} people stand in a row (order matters)?"
                if lv == 1
                else f"In how many ways can a committee of {r} be chosen from {n} people?"
            )
        elif lv == 3:
            word = "".join(rng.choice("ABCDEF") for _ in range(rng.randint(5, 7)))
            spec = {"type": "word", "word": word}
            q = f"How many distinct arrangements of the letters of {word} are there?"
        else:
            red, blue = rng.randint(3, 7), rng.randint(3, 7)
            k = rng.randint(2, min(5, red + blue - 1))
            j = rng.randint(1, min(k, red))
            spec = {"type": "hyper" if lv == 4 else "hyper_atleast", "red": red, "blue": blue, "k": k, "j": j}
            how = "exactly" if lv == 4 else "at least"
            q = (
                f"A bag holds {red} red and {blue} blue balls. {k} balls are drawn without replacement. "
                f"What is the probability that {how} {j} of them are red? Give a reduced fraction."
            )
        return Problem(question=q, answer=self._value(spec), meta={"spec": spec})

    def _value(self, s: dict) -> str:
        t = s["type"]
        if t == "perm":
            return str(perm(s["n"], s["r"]))
        if t == "comb":
            return str(comb(s["n"], s["r"]))
        if t == "word":
            total = factorial(len(s["word"]))
            for ch in set(s["word"]):
                total //= factorial(s["word"].count(ch))
            return str(total)
        js = [s["j"]] if t == "hyper" else range(s["j"], min(s["k"], s["red"]) + 1)
        good = sum(comb(s["red"], j) * comb(s["blue"], s["k"] - j) for j in js)
        return canon(Fraction(good, comb(s["red"] + s["blue"], s["k"])))

    def solve(self, problem: Problem, rng: random.Random, backtracks: int = 0) -> SolverRun:
        s = problem.meta["spec"]
        t, path = s["type"], []
        if t in ("perm", "comb"):
            n, r = s["n"], s["r"]
            falling = list(range(n, n - r, -1))
            path.append(
                f"The first place has {n} choices, the next {n - 1}, and so on for {r} places: {_product(falling)} = {perm(n, r)}."
            )
            if t == "comb":
                path.append(
                    f"Order does not matter in a committee, so I divide by {r}! = {factorial(r)}: {perm(n, r)} / {factorial(r)} = {comb(n, r)}."
                )
            nodes = r + (r if t == "comb" else 0)
        elif t == "word":
            w = s["word"]
            reps = {ch: w.count(ch) for ch in sorted(set(w)) if w.count(ch) > 1}
            path.append(
                f"{w} has {len(w)} letters, so {len(w)}! = {factorial(len(w))} orders if all letters were different."
            )
            for ch, c in reps.items():
                path.append(
                    f"The letter {ch} appears {c} times; swapping those copies gives the same word, so I divide by {c}! = {factorial(c)}."
                )
            nodes = len(w) + sum(reps.values())
        else:
            red, blue, k = s["red"], s["blue"], s["k"]
            total = comb(red + blue, k)
            path.append(f"There are C({red + blue}, {k}) = {total} equally likely draws.")
            js = [s["j"]] if t == "hyper" else list(range(s["j"], min(k, red) + 1))
            for j in js:
                if k - j <= blue:
                    path.append(
                        f"Draws with exactly {j} red: C({red}, {j}) × C({blue}, {k - j}) = {comb(red, j) * comb(blue, k - j)}."
                    )
            nodes = 2 * k + len(js) * (2 * k + 1)  # multiplications in the binomials
        answer = self._value(s)
        path.append(f"So the answer is {answer}.")
        wrong_models = [w for w in self._wrong_models(s) if w[1] != answer]
        detours = [
            detour(pos, f"maybe {model}.", f"That gives {val}.", reason=f"{why}.")
            for pos, (model, val, why) in zip(
                spread(rng, backtracks, len(path) - 1),
                rng.sample(wrong_models, min(backtracks, len(wrong_models))),
                strict=False,
            )
        ]
        return finish(path, detours, answer, nodes)

    def _wrong_models(self, s: dict) -> list[tuple[str, str, str]]:
        """Distinct wrong counting models for this problem: (model, its value, why it is wrong)."""
        t = s["type"]
        if t in ("perm", "comb"):
            n, r = s["n"], s["r"]
            out = [
                (
                    f"each of the {r} places can be anyone, {n}^{r}",
                    str(n**r),
                    "a person cannot stand in two places, so repeats are not allowed",
                ),
                (f"it is just {n} × {r}", str(n * r), "choices multiply place by place, not once"),
                (
                    f"the count is {n} + {r}",
                    str(n + r),
                    "adding counts is for either/or choices, not for a sequence of choices",
                ),
                (f"I should use C({n}, {r - 1})", str(comb(n, r - 1)), f"that picks {r - 1} people, not {r}"),
                (
                    f"there are ({n} - 1)! arrangements",
                    str(factorial(n - 1)),
                    "that arranges everyone in a circle, not a selection",
                ),
                (
                    f"I choose {r} and also order the rest, C({n}, {r}) × {n - r}!",
                    str(comb(n, r) * factorial(n - r)),
                    "the people not chosen are not arranged",
                ),
            ]
            wrong = {
                "perm": (
                    f"order does not matter, C({n}, {r})",
                    str(comb(n, r)),
                    "the row has a first and a last place, so order matters",
                ),
                "comb": (
                    f"order matters, {n}P{r}",
                    str(perm(n, r)),
                    "a committee has no order, so each group was counted r! times",
                ),
            }
            return [wrong[t], *out]
        if t == "word":
            w = s["word"]
            return [
                (
                    f"all {len(w)} letters are different, {len(w)}!",
                    str(factorial(len(w))),
                    "repeated letters make identical words",
                ),
                (
                    f"I count distinct letters only, {len(set(w))}!",
                    str(factorial(len(set(w)))),
                    "every letter copy must be placed",
                ),
                (f"{len(w)}^{len(w)} strings", str(len(w) ** len(w)), "each letter is used exactly once"),
                (
                    f"C({len(w)}, {len(set(w))})",
                    str(comb(len(w), len(set(w)))),
                    "that chooses positions but does not arrange them",
                ),
                (
                    f"{len(w)}! divided by {len(w) - len(set(w))}!",
                    str(factorial(len(w)) // factorial(len(w) - len(set(w)))),
                    "repeats divide per letter, not once in total",
                ),
            ]
        red, blue, k, j = s["red"], s["blue"], s["k"], s["j"]
        n = red + blue
        return [
            (
                f"the draws are with replacement, C({k}, {j})·({red}/{n})^{j}·({blue}/{n})^{k - j}",
                canon(Fraction(comb(k, j) * red**j * blue ** (k - j), n**k)),
                "the balls are not put back",
            ),
            (
                f"it is just {red}/{n}",
                canon(Fraction(red, n)),
                "that is one draw, not a draw of several balls",
            ),
            (
                f"it is {j}/{k}",
                canon(Fraction(j, k)),
                "the colours are not equally likely to be drawn in each slot",
            ),
            (
                f"order matters in the total but not in the favourable draws, over {n}P{k}",
                canon(Fraction(comb(red, j) * comb(blue, k - j), perm(n, k))),
                "numerator and denominator must count the same way",
            ),
            (
                f"C({red}, {j}) / C({n}, {k})",
                canon(Fraction(comb(red, j), comb(n, k))),
                "the blue balls of the draw were not counted",
            ),
        ]


FAMILIES.register(Counting.name, Counting())
