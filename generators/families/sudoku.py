"""Sudoku (9×9) with a unique solution, checked by an exhaustive solution count.

Level sets the number of clues (about 46, 38, 32, 28, 25), so the solver places more digits and,
at the hard end, has to guess. A full grid is drawn by shuffling a valid pattern (digits, rows in
bands, bands, columns in stacks, stacks, transpose); cells are blanked down to the level's clue
count, and while the puzzle has a second solution a cell where the two solutions differ is given
back as a clue, so the final puzzle is unique (it may keep a few more clues than the target).

The answer (kind "exact") is the solved grid as 81 digits, row by row, no separators.

The solver (`reasonmill.generators.search`) propagates naked singles (a cell with one candidate)
and hidden singles (a digit with one place in a row, column or box), and guesses on the cell with
fewest candidates when stuck (depth-first). A dead end is a guess it made and undid: the singles
it forced end in a contradiction (named), or every way on from it fails, or it gave up on it
after its patience. The backtrack knob sets the policy: cell and digit-order noise, patience,
and a hasty solver that guesses on a two-candidate cell before placing every single (so even
grids singles alone solve get real wrong guesses). Errors of the fallible teacher: a search
stopped at its budget (open cells filled with first candidates) or a misread clue.
"""

from __future__ import annotations

import random
from typing import Any, NamedTuple

from pydantic import Field, field_validator

from reasonmill.generators import search
from reasonmill.generators.base import Continuation, Family, FamilyParams, SolverRun
from reasonmill.generators.registry import FAMILIES
from reasonmill.generators.search import Domain, Node, Policy, ordered
from reasonmill.records import Problem

CLUES = {1: 46, 2: 38, 3: 32, 4: 28, 5: 25}
ALL = 0x3FE  # bits 1..9
ROW = [i // 9 for i in range(81)]
COL = [i % 9 for i in range(81)]
BOX = [(i // 27) * 3 + (i % 9) // 3 for i in range(81)]
UNITS = (
    [[r * 9 + c for c in range(9)] for r in range(9)]
    + [[r * 9 + c for r in range(9)] for c in range(9)]
    + [[b // 3 * 27 + b % 3 * 3 + r * 9 + c for r in range(3) for c in range(3)] for b in range(9)]
)
UNIT_NAMES = (
    [f"row {r + 1}" for r in range(9)]
    + [f"column {c + 1}" for c in range(9)]
    + [f"box {b + 1}" for b in range(9)]
)


class SudokuParams(FamilyParams):
    """Level 1..5; `clues` overrides the level's clue count."""

    clues: int | None = Field(default=None, le=80)

    @field_validator("clues")
    @classmethod
    def _enough_clues(cls, v: int | None) -> int | None:
        if v is not None and v < 17:  # no 9×9 sudoku with fewer than 17 clues has a unique solution
            raise ValueError(f"a unique 9x9 sudoku needs at least 17 clues, got {v}")
        return v


def cell_name(i: int) -> str:
    """Cell name, r3c5 style."""
    return f"r{ROW[i] + 1}c{COL[i] + 1}"


class Board:
    """A grid with row/column/box masks of used digits; placements are undoable."""

    def __init__(self, grid: list[int]) -> None:
        self.g = list(grid)
        self.rows, self.cols, self.boxes = [0] * 9, [0] * 9, [0] * 9
        self.scans = 0  # full passes over the grid or its units: the work propagation did
        for i, d in enumerate(grid):
            if d:
                b = 1 << d
                self.rows[ROW[i]] |= b
                self.cols[COL[i]] |= b
                self.boxes[BOX[i]] |= b

    def cand(self, i: int) -> int:
        """Bitmask of the digits cell `i` can still take."""
        return ALL & ~(self.rows[ROW[i]] | self.cols[COL[i]] | self.boxes[BOX[i]])

    def place(self, i: int, d: int) -> None:
        """Write digit `d` into cell `i` and mark it used in its row, column and box."""
        b = 1 << d
        self.g[i] = d
        self.rows[ROW[i]] |= b
        self.cols[COL[i]] |= b
        self.boxes[BOX[i]] |= b

    def unplace(self, i: int) -> None:
        """Undo the placement in cell `i`."""
        b = ~(1 << self.g[i])
        self.g[i] = 0
        self.rows[ROW[i]] &= b
        self.cols[COL[i]] &= b
        self.boxes[BOX[i]] &= b

    def propagate(
        self,
        log: list[tuple[int, int, str]] | None,
        placed: list[int],
        limit: int | None = None,
        naked_only: bool = False,
    ) -> bool:
        """Place naked and hidden singles until none is left (or `limit` placements are made);
        False on a contradiction.

        Every placement is appended to `placed` (for undo) and, with `log`, as (cell, digit, why).
        """
        g = self.g
        while True:
            if limit is not None and len(placed) >= limit:
                return True
            progress = False
            self.scans += 1
            for i in range(81):
                if g[i] == 0:
                    m = self.cand(i)
                    if m == 0:
                        if log is not None:
                            log.append((i, 0, "no candidate"))
                        return False
                    if m & (m - 1) == 0:
                        if limit is not None and len(placed) >= limit:
                            return True
                        self.place(i, m.bit_length() - 1)
                        placed.append(i)
                        if log is not None:
                            log.append((i, g[i], "naked"))
                        progress = True
            if progress:
                continue
            if naked_only:
                return True
            self.scans += 1
            for u, unit in enumerate(UNITS):
                once = twice = used = 0
                for i in unit:
                    if g[i]:
                        used |= 1 << g[i]
                    else:
                        m = self.cand(i)
                        twice |= once & m
                        once |= m
                if (used | once) != ALL:
                    if log is not None:
                        log.append((unit[0], 0, f"a digit has no place in {UNIT_NAMES[u]}"))
                    return False
                hidden = once & ~twice
                while hidden:
                    bit = hidden & -hidden
                    hidden ^= bit
                    i = next(i for i in unit if g[i] == 0 and self.cand(i) & bit)
                    self.place(i, bit.bit_length() - 1)
                    placed.append(i)
                    if log is not None:
                        log.append((i, g[i], f"hidden in {UNIT_NAMES[u]}"))
                    progress = True
                    break
                if progress:
                    break
            if not progress:
                return True


def count_solutions(board: Board, limit: int, sols: list[list[int]], counter: list[int]) -> None:
    """Depth-first search for up to `limit` solutions (appended to `sols`); counter[0] counts nodes."""
    placed: list[int] = []
    counter[0] += 1
    if board.propagate(None, placed):
        best, best_n = -1, 10
        for i in range(81):
            if board.g[i] == 0:
                n = board.cand(i).bit_count()
                if n < best_n:
                    best, best_n = i, n
        if best < 0:
            sols.append(list(board.g))
        else:
            m = board.cand(best)
            while m and len(sols) < limit:
                bit = m & -m
                m ^= bit
                board.place(best, bit.bit_length() - 1)
                count_solutions(board, limit, sols, counter)
                board.unplace(best)
    for i in reversed(placed):
        board.unplace(i)


def _full_grid(rng: random.Random) -> list[int]:
    digits = rng.sample(range(1, 10), 9)
    rows = [b * 3 + r for b in rng.sample(range(3), 3) for r in rng.sample(range(3), 3)]
    cols = [s * 3 + c for s in rng.sample(range(3), 3) for c in rng.sample(range(3), 3)]
    grid = [digits[(r * 3 + r // 3 + c) % 9] for r in rows for c in cols]
    if rng.random() < 0.5:
        grid = [grid[c * 9 + r] for r in range(9) for c in range(9)]
    return grid


class Sudoku(Family):
    """Fill the 9×9 grid so each row, column and box holds 1–9 once."""

    name = "sudoku"
    description = "9x9 sudoku, unique solution (singles + depth-first guessing)"
    answer_kind = "exact"
    Params = SudokuParams

    def generate(self, rng: random.Random, params: FamilyParams) -> Problem:
        target = getattr(params, "clues", None) or CLUES[params.level]
        solution = _full_grid(rng)
        keep = set(rng.sample(range(81), target))
        while True:
            puzzle = [solution[i] if i in keep else 0 for i in range(81)]
            sols: list[list[int]] = []
            count_solutions(Board(puzzle), 2, sols, [0])
            other = next((s for s in sols if s != solution), None)
            if other is None:
                break
            keep.add(rng.choice([i for i in range(81) if other[i] != solution[i]]))
        rows = "\n".join("".join(str(d) if d else "." for d in puzzle[r * 9 : r * 9 + 9]) for r in range(9))
        q = f"Solve this sudoku ({len(keep)} clues, '.' is empty):\n{rows}\nGive the solution as 81 digits, row by row."
        return Problem(
            question=q, answer="".join(map(str, solution)), kind="exact", meta={"spec": {"puzzle": puzzle}}
        )

    @staticmethod
    def domain(problem: Problem, rng: random.Random | None = None, hasty: float = 0.0) -> SudokuDomain:
        """The search domain of a problem's spec (`hasty`: see `SudokuDomain`)."""
        return SudokuDomain(problem.meta["spec"]["puzzle"], rng, hasty)

    def solve(self, problem: Problem, rng: random.Random, backtracks: int = 0) -> SolverRun:
        policy = SudokuDomain.teacher_policy(backtracks)
        return search.solve(self.domain(problem, rng, policy.hasty), policy, rng)

    def solve_wrong(
        self, problem: Problem, rng: random.Random, backtracks: int, kinds: tuple[str, ...]
    ) -> SolverRun | None:
        """Errors: "budget": the search stopped before the grid is complete, filling the rest with first
        candidates; "misread": one clue read as another digit, solved as read."""
        policy = SudokuDomain.teacher_policy(backtracks)

        def misread() -> SolverRun:
            puzzle = list(problem.meta["spec"]["puzzle"])
            clues = [i for i, d in enumerate(puzzle) if d]
            i = rng.choice(clues)
            puzzle[i] = rng.choice([d for d in range(1, 10) if d != puzzle[i]])
            run = search.solve(SudokuDomain(puzzle, rng, policy.hasty), policy, rng)
            run.meta["misread"] = {"cell": i, "digit": puzzle[i]}
            return run

        def seeded(p: Policy, r: random.Random) -> SolverRun:
            return search.solve(self.domain(problem, r, p.hasty), p, r)

        makers = {
            "budget": lambda: search.stopped_early(seeded, policy, rng, search.visited),
            "misread": misread,
        }
        return search.first_error(kinds, makers, lambda run: run.answer != problem.answer)

    def resume(
        self, problem: Problem, records: list[dict[str, Any]], rng: random.Random, budget: int | None = None
    ) -> Continuation:
        return search.resume(
            self.domain(problem, rng), records, rng, Policy(noise=0.5, budget=budget or 5_000)
        )

    def student(self, problem: Problem, rng: random.Random) -> tuple[str, int] | None:
        """Naked singles only (no hidden singles) and guesses in a random cell and digit order,
        `STUDENT_BUDGET` grids at most."""
        dom = SudokuDomain(problem.meta["spec"]["puzzle"], rng, naked_only=True)
        run = search.solve(dom, Policy(noise=1.0, budget=STUDENT_BUDGET), rng)
        return run.answer, run.nodes


STUDENT_BUDGET = 3  # grids (guesses) the offline student may try


class SudokuState(NamedTuple):
    """A grid after a guess and the singles it forced: `log` the placements (cell, digit, why)
    made on entering, `contra` the contradiction found (cell, why), if any."""

    grid: tuple[int, ...]
    log: tuple[tuple[int, int, str], ...] = ()
    contra: tuple[int, str] | None = None


def _why(why: str, d: int) -> str:
    if why == "naked":
        return "its only candidate"
    if why.startswith("hidden"):
        return f"the only place for {d} in {why[10:]}"
    return why


def _digits(mask: int) -> list[int]:
    return [d for d in range(1, 10) if mask >> d & 1]


class SudokuDomain(Domain):
    """Singles propagation with depth-first guessing on one cell at a time.

    `hasty` is the chance that, after a guess (or at the start), the solver stops placing singles
    after a few and guesses again on a cell with two candidates: an impatient solver whose extra
    guesses are real wrong turns even on grids singles alone would solve. The reviser and the
    student are never hasty.
    """

    unit = "grids"

    def __init__(
        self,
        puzzle: list[int],
        rng: random.Random | None = None,
        hasty: float = 0.0,
        naked_only: bool = False,
    ) -> None:
        self.puzzle, self.rng, self.hasty, self.naked_only = (
            list(puzzle),
            rng or random.Random(0),
            hasty,
            naked_only,
        )
        self.work = 0

    @staticmethod
    def teacher_policy(backtracks: int) -> Policy:
        """The teacher's policy for a backtrack knob value."""
        if backtracks <= 0:
            return Policy(budget=50_000)
        return Policy(
            noise=min(1.0, 0.25 * backtracks),
            patience=max(2, 8 // backtracks),
            hasty=min(0.8, 0.3 * backtracks),
            budget=50_000,
        )

    def policy(self, backtracks: int) -> Policy:
        return self.teacher_policy(backtracks)

    def _settle(
        self, grid: tuple[int, ...] | list[int], cell: int | None = None, digit: int = 0
    ) -> SudokuState:
        board = Board(list(grid))
        if cell is not None:
            board.place(cell, digit)
        limit = self.rng.randint(0, 3) if self.hasty and self.rng.random() < self.hasty else None
        log: list[tuple[int, int, str]] = []
        ok = board.propagate(log, [], limit, self.naked_only)
        self.work += board.scans
        contra = None
        if not ok:
            i, _, why = log.pop()
            contra = (i, f"{cell_name(i)} has no candidate left" if why == "no candidate" else why)
        else:
            empty = next((i for i in range(81) if board.g[i] == 0 and board.cand(i) == 0), None)
            if empty is not None:
                contra = (empty, f"{cell_name(empty)} has no candidate left")
        return SudokuState(tuple(board.g), tuple(log), contra)

    def root(self) -> SudokuState:
        return self._settle(self.puzzle)

    def key(self, state: SudokuState) -> tuple[int, ...]:
        return state.grid

    def moves(self, state: Any, rng: random.Random, policy: Policy, bound: float | None) -> Any:
        board = Board(list(state.grid))
        empties = [(board.cand(i).bit_count(), i) for i in range(81) if state.grid[i] == 0]
        if not empties:
            return
        pairs = [x for x in empties if x[0] >= 2]
        pool = pairs if pairs and any(c == 1 for c, _ in empties) else empties
        cells = ordered([i for _, i in pool], [c + i / 100 for c, i in pool], rng, policy.noise)
        cell = cells[0]
        digits = _digits(board.cand(cell))
        for d in ordered(digits, [float(d) for d in digits], rng, policy.noise):
            yield (cell, d), self._settle(state.grid, cell, d)

    def dead(self, state: Any) -> dict[str, Any] | None:
        return None if state.contra is None else {"cell": state.contra[0], "why": state.contra[1]}

    def is_goal(self, state: Any) -> bool:
        return state.contra is None and 0 not in state.grid

    def encode(self, state: Any) -> Any:
        return {"g": "".join(map(str, state.grid)), "x": list(state.contra) if state.contra else None}

    def decode(self, data: Any) -> Any:
        return SudokuState(tuple(int(c) for c in data["g"]), (), tuple(data["x"]) if data.get("x") else None)

    def encode_move(self, move: Any) -> Any:
        return list(move)

    def intro(self, root: Any) -> list[str]:
        return [
            f"The grid has {sum(1 for d in self.puzzle if d)} clues. I place singles: a cell with one candidate, or a digit with one place in a row, column or box; when stuck I guess."
        ]

    def root_notes(self, root: Any) -> list[tuple[str, dict[str, Any]]]:
        return [(f"{cell_name(i)} = {d} ({_why(w, d)}).", {"cell": i, "digit": d}) for i, d, w in root.log]

    def notes(self, parent: Any, move: Any, child: Any) -> list[tuple[str, dict[str, Any]]]:
        return [(f"{cell_name(i)} = {d} ({_why(w, d)}).", {"cell": i, "digit": d}) for i, d, w in child.log]

    def enter_text(self, parent: Any, move: Any, child: Any, depth: int, alt: bool, node: Node) -> str:
        i, d = move
        cands = _digits(Board(list(parent.grid)).cand(i))
        if node.revisit:
            text = f"{'Alternatively, back' if alt else 'Back'} to {cell_name(i)} = {d}, a guess I left unfinished."
        elif alt:
            text = f"Alternatively, {cell_name(i)} = {d}."
        else:
            singles = any(
                Board(list(parent.grid)).cand(j).bit_count() == 1 for j in range(81) if parent.grid[j] == 0
            )
            lead = "Before placing the remaining singles, I guess" if singles else "Stuck, I guess"
            text = f"{lead} {cell_name(i)} = {d} (candidates {', '.join(map(str, cands))})."
        if node.outcome in ("dead", "exhausted", "gave_up") and child.log:
            forced = [f"{cell_name(c)} = {v}" for c, v, _ in child.log]
            more = f" and {len(forced) - 4} more" if len(forced) > 4 else ""
            text += " That forces " + ", ".join(forced[:4]) + more + "."
        return text

    def fail_text(self, node: Node, parent: Any) -> str:
        i, d = node.move
        if node.outcome == "dead":
            return f"Wait, then {node.reason['why']}. So {cell_name(i)} = {d} is wrong. Let me go back to the grid before that guess."
        if node.outcome == "exhausted":
            return f"Wait, every way on from {cell_name(i)} = {d} fails ({node.nodes} grids). Let me go back to the grid before that guess."
        return f"Hmm, {node.nodes} grids under {cell_name(i)} = {d} and no solution yet. I leave this guess for now and go back to the grid before it."

    def short(self, node: Node) -> str:
        i, d = node.move
        why = node.reason["why"] if node.outcome == "dead" else f"every way on fails ({node.nodes} grids)"
        return f"{cell_name(i)} = {d} ({why})"

    def group_text(self, nodes: list[Node], parent: Any, depth: int) -> str:
        return "Hmm, I also try " + "; ".join(self.short(n) for n in nodes) + ". None of them works."

    def conclude(self, goal: Any) -> tuple[str, str]:
        answer = "".join(map(str, goal.grid))
        return f"Every cell is filled and consistent: {answer}.", answer

    def guess(self, found: search.Search, line: list[Node]) -> tuple[str, str]:
        grid = list(next((n.state for n in reversed(line) if n.state.contra is None), line[0].state).grid)
        board = Board(grid)
        for i in range(81):
            if grid[i] == 0:
                m = board.cand(i)
                grid[i] = _digits(m)[0] if m else 1
        answer = "".join(map(str, grid))
        why = (
            f"I have used my budget of {found.nodes} grids" if found.stopped else "Every branch I tried fails"
        )
        return f"{why}; I fill the open cells with their first candidates: {answer}.", answer


FAMILIES.register(Sudoku.name, Sudoku())
