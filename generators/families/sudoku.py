"""Sudoku (9×9) with a unique solution, checked by an exhaustive solution count.

Level sets the number of clues (about 46, 38, 32, 28, 25), so the solver places more digits and,
at the hard end, has to guess. A full grid is drawn by shuffling a valid pattern (digits, rows in
bands, bands, columns in stacks, stacks, transpose); cells are blanked down to the level's clue
count, and while the puzzle has a second solution a cell where the two solutions differ is given
back as a clue, so the final puzzle is unique (it may keep a few more clues than the target).

The answer (kind "exact") is the solved grid as 81 digits, row by row, no separators.

The solver propagates naked singles (a cell with one candidate) and hidden singles (a digit with
one place in a row, column or box), and guesses on the cell with fewest candidates when stuck
(depth-first). Guesses that fail are real dead ends. When more wrong branches are asked, it tries
a wrong candidate at some step and follows the singles it forces to a contradiction.
"""

from __future__ import annotations

import random

from pydantic import Field, field_validator

from reasonmill.generators.base import Family, FamilyParams, SolverRun, detour, finish, spread
from reasonmill.generators.registry import FAMILIES
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


def cell(i: int) -> str:
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

    def propagate(self, log: list[tuple[int, int, str]] | None, placed: list[int]) -> bool:
        """Place naked and hidden singles until none is left; False on a contradiction.

        Every placement is appended to `placed` (for undo) and, with `log`, as (cell, digit, why).
        """
        g = self.g
        while True:
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
                        self.place(i, m.bit_length() - 1)
                        placed.append(i)
                        if log is not None:
                            log.append((i, g[i], "naked"))
                        progress = True
            if progress:
                continue
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

    def solve(self, problem: Problem, rng: random.Random, backtracks: int = 0) -> SolverRun:
        puzzle = problem.meta["spec"]["puzzle"]
        board = Board(puzzle)
        steps: list[tuple[int, int, str]] = []  # the placements of the correct line
        dead: list[
            tuple[int, int, int, list[tuple[int, int, str]]]
        ] = []  # (step, cell, digit, what followed)
        nodes = [0]

        def search() -> bool:
            log: list[tuple[int, int, str]] = []
            placed: list[int] = []
            ok = board.propagate(log, placed)
            nodes[0] += 1 + len(placed)
            if ok:
                empties = [i for i in range(81) if board.g[i] == 0]
                if not empties:
                    steps.extend(log)
                    return True
                best = min(empties, key=lambda i: board.cand(i).bit_count())
                m = board.cand(best)
                while m:
                    bit = m & -m
                    m ^= bit
                    d = bit.bit_length() - 1
                    board.place(best, d)
                    mark = len(steps)
                    steps.extend(log)
                    steps.append((best, d, "guess"))
                    if search():
                        return True
                    failed = steps[mark + len(log) + 1 :]
                    dead.append((mark + len(log), best, d, failed))
                    del steps[mark:]
                    board.unplace(best)
            for i in reversed(placed):
                board.unplace(i)
            return False

        search()
        path = [
            f"The grid has {sum(1 for d in puzzle if d)} clues. I place singles: a cell with one candidate, or a digit with one place in a row, column or box; when stuck I guess."
        ]
        for i, d, why in steps:
            reason = (
                "its only candidate"
                if why == "naked"
                else f"the only place for {d} in {why[10:]}"
                if why.startswith("hidden")
                else "a guess among its candidates"
            )
            path.append(f"{cell(i)} = {d} ({reason}).")
        answer = "".join(str(d) for d in board.g)
        path.append(f"Every cell is filled and consistent: {answer}.")

        picks = rng.sample(dead, min(backtracks, len(dead)))
        detours = [
            detour(k, f"guess {cell(i)} = {d}.", *self._follow(after), reason="that's a contradiction.")
            for k, i, d, after in sorted(picks)
        ]
        tried = {(i, d) for _, i, d, _ in picks}
        for k in spread(rng, backtracks - len(detours), len(path) - 2):
            found = self._wrong_try(puzzle, steps[:k], answer, rng, tried)
            while found is None and k > 0:  # near the end no wrong candidate is left: step back
                k //= 2
                found = self._wrong_try(puzzle, steps[:k], answer, rng, tried)
            if found:
                i, d, log = found
                tried.add((i, d))
                nodes[0] += len(log)
                detours.append(
                    detour(
                        k,
                        f"put {d} in {cell(i)}; it is still a candidate there.",
                        *self._follow(log),
                        reason="that's a contradiction.",
                    )
                )
        return finish(path, detours, answer, nodes[0] + board.scans)

    @staticmethod
    def _follow(log: list[tuple[int, int, str]]) -> list[str]:
        forced = [f"{cell(i)} = {d}" for i, d, _ in log if d][:4]
        end = log[-1] if log and log[-1][1] == 0 else None
        text = (
            (
                "That forces "
                + ", ".join(forced)
                + (" and more" if len([x for x in log if x[1]]) > 4 else "")
                + ". "
            )
            if forced
            else ""
        )
        if end is not None:
            text += (
                f"Then {cell(end[0])} has no candidate left."
                if end[2] == "no candidate"
                else f"Then {end[2]}."
            )
        else:
            text += "Every way on from there fails."
        return [text]

    @staticmethod
    def _wrong_try(
        puzzle: list[int], done: list[tuple[int, int, str]], answer: str, rng: random.Random, tried: set
    ) -> tuple[int, int, list] | None:
        """A wrong candidate at the state after `done` whose singles reach a contradiction."""
        state = list(puzzle)
        for i, d, _ in done:
            state[i] = d
        base = Board(state)
        empties = [i for i in range(81) if state[i] == 0]
        rng.shuffle(empties)
        attempts = 0
        for i in empties:
            m = base.cand(i) & ~(1 << int(answer[i]))
            while m and attempts < 40:
                bit = m & -m
                m ^= bit
                d = bit.bit_length() - 1
                if (i, d) in tried:
                    continue
                attempts += 1
                board = Board(state)
                board.place(i, d)
                log: list[tuple[int, int, str]] = []
                if not board.propagate(log, []):
                    return i, d, log
                sols: list[list[int]] = []
                count_solutions(board, 1, sols, [0])  # no contradiction by singles: search it out
                if not sols:
                    return i, d, log
        return None


FAMILIES.register(Sudoku.name, Sudoku())
