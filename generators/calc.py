"""Calculations narrated as they ran: slips really made, caught by real checks (or not).

Families without search (arithmetic chains and expressions, linear equations and systems, gcd and
lcm, modular powers, counting, trial division) describe their solve as a `Machine`: a state (a
JSON-able dict, `env`) and, from any state, the next `Op` (one paragraph: a value computed from
the state, how it reads, how a wrong value is exposed, what a plausible slip is, the work it
takes). This module runs the machine:

* the teacher slips with probability `slip_rate` per op that can slip (the backtrack knob sets
  the rate, so more backtracks means more slips really made) and catches every slip with a real
  check: the op's own inverse check right after it (`Op.check`: "325 ÷ 7 = 46 r 3, not 45"), or,
  for ops without one, the next verification op downstream (substituting the answer back), after
  which it goes over its steps, finds the one whose recomputation differs and redoes from there;
* the fallible teacher (`slip` error) slips once and checks nothing, so the slip reaches the
  answer (the error is kept only if the answer really is wrong);
* the offline student slips with a probability that grows with each op's work (digit operations)
  and checks nothing;
* `resume` rebuilds the state from the records of a prefix and continues carefully (no slips,
  every check done) to the answer: after a slip that the prefix has not yet caught, an op with
  only an inline check carries the slipped value to a wrong answer, while a downstream
  verification catches it again.

Records: `{"t": "calc", "env": ...}` after each op (the state it left), `{"t": "check", "ok":
false, "env": ...}` for a failed check (the state the solver goes back to), `{"t": "answer", "a":
...}`. Nothing in a record says whether a value is right: the reviser learns that as the solver
does, by checking.
"""

from __future__ import annotations

import random
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from typing import Any

from reasonmill.generators.base import Continuation, SolverRun, Step


@dataclass(slots=True)
class Op:
    """One step of a calculation.

    `value` is the right value from the current state; `text(v)` the paragraph that writes value
    `v`; `apply(env, v)` the state after writing `v`; `check(v)` a sentence that exposes a wrong
    `v` by an inverse computation (None: no inline check, a later verification catches it);
    `slip(rng)` a plausible wrong value (None: this op cannot slip); `work` its digit operations.
    `apply` must return a new state and never change the one it is given (records share states).
    A verification op (`verify=True`) has the value True when the check passes: `text(False)`
    tells the mismatch.
    """

    value: Any
    text: Callable[[Any], str]
    apply: Callable[[dict[str, Any], Any], dict[str, Any]]
    check: Callable[[Any], str] | None = None
    slip: Callable[[random.Random], Any] | None = None
    work: int = 1
    verify: bool = False
    label: str = ""
    show: Callable[[Any], str] | None = None

    def shown(self, v: Any) -> str:
        """How a value of this op reads in a sentence."""
        return self.show(v) if self.show is not None else _show(v)


class Machine(ABC):
    """A calculation as a state machine (see the module docstring)."""

    @abstractmethod
    def start(self) -> dict[str, Any]:
        """The initial state."""

    @abstractmethod
    def intro(self) -> str:
        """The opening paragraph."""

    @abstractmethod
    def next_op(self, env: dict[str, Any]) -> Op | None:
        """The next op from state `env`, or None when the calculation is done."""

    @abstractmethod
    def conclude(self, env: dict[str, Any]) -> tuple[str, str]:
        """(closing paragraph, answer) of a finished state."""


def _record(t: str, env: dict[str, Any], **extra: Any) -> dict[str, Any]:
    # machines never mutate a state (`Op.apply` returns a new dict), so records can share it
    return {"t": t, "env": env, **extra}


def run(
    machine: Machine,
    rng: random.Random,
    slip_rate: float = 0.0,
    max_slips: int = 0,
    checks: bool = True,
    student: float | None = None,
    env: dict[str, Any] | None = None,
    resumed: bool = False,
) -> SolverRun:
    """Run `machine` and narrate it.

    `slip_rate`/`max_slips`: the teacher's slips (caught when `checks`). `checks=False`: inline
    checks and verifications are skipped (the fallible teacher, the student). `student`: the
    offline student's slip probability per digit operation (used instead of `slip_rate`).
    `env`/`resumed`: continue from a state without an intro (used by `resume`).
    """
    env = dict(env if env is not None else machine.start())
    told: list[Step] = [] if resumed else [Step(machine.intro(), None, _record("start", env))]
    history: list[tuple[dict[str, Any], Op, Any, int]] = []  # (state before, op, value written, paragraph)
    nodes = backtracks = slips = 0
    careful: set[str] = set()  # ops redone after a caught slip: the solver does not slip on them again
    for _ in range(10_000):
        op = machine.next_op(env)
        if op is None:
            break
        if op.verify and not checks:
            env = op.apply(env, op.value)  # a careless solver skips the verification
            continue
        before = env
        nodes += op.work
        value = op.value
        if op.slip is not None and op.label not in careful:
            p = 1 - (1 - student) ** max(1, op.work) if student is not None else slip_rate
            if (student is not None or slips < max_slips) and rng.random() < p:
                wrong = op.slip(rng)
                if wrong != op.value:
                    value, slips = wrong, slips + 1
        env = op.apply(env, value)
        told.append(Step(op.text(value), None, _record("calc", env)))
        history.append((before, op, value, len(told) - 1))
        if not checks:
            continue
        if value != op.value and op.check is not None:  # caught at once by the inverse check
            nodes += op.work
            backtracks += 1
            told.append(
                Step(
                    f"Wait, checking {op.label}: {op.check(value)} Let me redo it.",
                    None,
                    _record("check", before, ok=False),
                )
            )
            careful.add(op.label)
            env = before
            history.pop()
            continue
        if op.verify and value is False:  # a verification failed: find the slip, redo from there
            k = next((i for i, h in enumerate(history) if h[2] != h[1].value and not h[1].verify), None)
            if k is None:
                raise RuntimeError("a verification failed without a slip")
            b_env, b_op, b_val, _ = history[k]
            nodes += sum(h[1].work for h in history[k:])
            backtracks += 1
            told.append(
                Step(
                    f"Wait, the check fails, so I made a mistake. Going over my steps again, {b_op.label} "
                    f"gives {b_op.shown(b_op.value)}, not {b_op.shown(b_val)}. Let me go back to {b_op.label}.",
                    None,
                    _record("check", b_env, ok=False),
                )
            )
            careful.add(b_op.label)
            env = b_env
            history = history[:k]
            continue
    else:
        raise RuntimeError("calculation machine did not finish")
    text, answer = machine.conclude(env)
    told.append(Step(text, None, {"t": "answer", "a": answer}))
    path: list[str] = []
    if not resumed:  # the solution line: the intro, every op kept (not undone by a check), the end
        for i in [0, *(h[3] for h in history), len(told) - 1]:
            told[i].on_path = len(path)
            path.append(told[i].text)
    return SolverRun(
        steps=told, path=path, answer=answer, nodes=nodes, backtracks=backtracks, meta={"slips": slips}
    )


def _show(v: Any) -> str:
    if isinstance(v, (list, tuple)):
        return ", ".join(map(str, v))
    return str(v)


def slipped(machine: Machine, rng: random.Random, tries: int = 8) -> SolverRun | None:
    """The fallible teacher's uncaught slip: one slip, no checks; None when no op can slip."""
    right = run(machine, random.Random(0)).answer
    for _ in range(tries):
        got = run(
            machine,
            random.Random(rng.random()),
            slip_rate=1.0 / max(1, _slippable(machine)),
            max_slips=1,
            checks=False,
        )
        if got.meta["slips"] and got.answer != right:
            got.meta["error"] = {"kind": "slip"}
            return got
    return None


def _slippable(machine: Machine) -> int:
    env, n = machine.start(), 0
    while True:
        op = machine.next_op(env)
        if op is None:
            return max(1, n)
        n += op.slip is not None
        env = op.apply(env, op.value)


def resume(machine: Machine, records: list[dict[str, Any]], rng: random.Random) -> Continuation:
    """Continue from the state the prefix's records leave, carefully (no slips, checks on)."""
    env = None
    for r in records:
        if r.get("t") in ("answer",):
            return Continuation([], None, note="the prefix already concluded")
        if "env" in r:
            env = r["env"]
    if env is None:
        return Continuation([], None, note="the prefix has no state record")
    got = run(machine, rng, env=env, resumed=True)
    return Continuation(got.steps, got.answer, got.nodes)


@lru_cache(maxsize=1 << 16)
def frac(text: str | int) -> Fraction:
    """`Fraction(text)`, cached: states hold exact numbers as canonical strings ("-5/7")."""
    return Fraction(text)


def digits(*xs: Any) -> int:
    """Digit count of the largest |x| among integers (or numerators/denominators of fractions)."""
    best = 1
    for x in xs:
        if type(x) is int:
            best = max(best, len(str(abs(x))))
            continue
        for part in (getattr(x, "numerator", x), getattr(x, "denominator", 1)):
            best = max(best, len(str(abs(int(part)))))
    return best


def nudge(rng: random.Random, value: int) -> int:
    """A plausible slip of an integer result: off by 1, 2 or 10 (never across zero)."""
    d = rng.choice([-10, -2, -1, 1, 2, 10])
    if value > 0 and value + d <= 0 or value < 0 and value + d >= 0:
        d = -d
    return value + d
