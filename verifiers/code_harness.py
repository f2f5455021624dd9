"""The trusted-parent / candidate protocol for code verification.

The candidate process gets the program and the test *inputs* only; the expected values never
leave this (the parent) process. For assert-style specs:

1. `plan_asserts` parses each assert with `ast` (in the parent) and splits it: every
   subexpression that reaches into the program (`add(1, 2)`, `Solution().f(x)`, a program
   global) becomes a *call* the child evaluates; everything around it — the expected literals, the
   `==`, `len(...)`, `sorted(...)`, `math.isclose(...)`, `abs(... - 3.0) < 1e-6` — stays in the
   parent as a *check* over placeholders.
2. The child (`CHILD_SOURCE`, run inside the sandbox) runs the program, evaluates each call and
   writes one JSON line per call: its value as tagged plain data (`{"list": [...]}`,
   `{"tuple": [...]}`, ...), or the exception it raised, or "not plain data". Only exact builtin
   types and their subclasses *read through the base type's own accessors* are plain data: an
   `int` subclass gives its integer, never its `__eq__`, `__hash__` or `__repr__`; any other
   object is a failure.
3. The parent decodes the lines (`read_results`) into fresh builtin values and evaluates each check
   (`evaluate_check`) with its own small evaluator. Equality is `strict_equal`: type-strict on
   plain data (bool is not int, list is not tuple, str is not bytes; int and float compare by
   value, as the assert would), computed on canonical forms built from builtins only, so no
   candidate code (`__eq__`) runs in the parent.

What cannot be split safely is refused (`Unconvertible`: the spec is unverifiable), never run as
an assert in the child, whose outcome the candidate controls: statements other than `assert` and
imports, comprehensions and lambdas around program calls, and parent-side operations outside the
small evaluator below. The child's arguments are inputs and are shown to the candidate: a spec
that writes the expected value into the call side (`f(3) - 9 == 0` is fine, `check(f(3), 9)`
with a program-defined `check` is not) shows it to the candidate.

Whatever the child writes on its results channel is its own output: forging it is the same as
computing those values, which needs no knowledge of the expected ones.
"""

from __future__ import annotations

import ast
import json
import math
import operator
from dataclasses import dataclass
from typing import Any

# --- the child's side (runs inside the sandbox; Python >= 3.8, standard library only) ----------

CHILD_SOURCE = r"""
def _rm_child(job_bytes, emit, install_hook):
    import os, sys, json
    job = json.loads(job_bytes)
    root = job["root"]
    os.chdir(root)
    calls_mode = job["mode"] == "calls"
    try:
        code = compile(job["program"], "main.py", "exec")
    except (SyntaxError, ValueError) as exc:
        sys.stderr.write("%s: %s\n" % (type(exc).__name__, exc))
        sys.stderr.flush()
        os._exit(1)
    setup = [compile(s, "setup_%d" % i, "exec") for i, s in enumerate(job["setup"])]
    calls = [compile(c, "call_%d" % i, "eval") for i, c in enumerate(job["calls"])]
    del job_bytes
    max_items, max_depth = 100000, 100
    _type, _issub, _len, _str, _int, _float = type, issubclass, len, str, int, float
    _list, _tuple, _dict, _set, _frozenset, _complex = list, tuple, dict, set, frozenset, complex
    _bytes, _bytearray, _mv, _repr, _isinstance = bytes, bytearray, memoryview, repr, isinstance
    _dumps, _BaseException, _RecursionError = json.dumps, BaseException, RecursionError
    _list_iter, _tuple_iter, _set_iter, _fset_iter = list.__iter__, tuple.__iter__, set.__iter__, frozenset.__iter__
    _dict_items, _int_add, _float_float, _str_str = dict.items, int.__add__, float.__float__, str.__str__
    _re, _im = complex.real.__get__, complex.imag.__get__
    class _NotPlain(Exception):
        pass
    def num(f):
        if f != f:
            return {"float": "nan"}
        if f in (float("inf"), float("-inf")):
            return {"float": "inf" if f > 0 else "-inf"}
        return f
    def enc(v, depth, budget):
        budget[0] -= 1
        if budget[0] < 0:
            raise _NotPlain("more than %d values" % max_items)
        if depth > max_depth:
            raise _NotPlain("nested deeper than %d" % max_depth)
        t = _type(v)
        if v is None or t is bool:
            return v
        if _issub(t, _int):
            return _int_add(v, 0)
        if _issub(t, _float):
            return num(_float_float(v))
        if _issub(t, _str):
            return _str_str(v)
        if _issub(t, (_bytes, _bytearray)):
            return {"bytes": _mv(v).tobytes().hex()}
        if _issub(t, _complex):
            return {"complex": [num(_re(v)), num(_im(v))]}
        d = depth + 1
        if _issub(t, _list):
            return {"list": [enc(x, d, budget) for x in _list_iter(v)]}
        if _issub(t, _tuple):
            return {"tuple": [enc(x, d, budget) for x in _tuple_iter(v)]}
        if _issub(t, _dict):
            return {"dict": [[enc(k, d, budget), enc(x, d, budget)] for k, x in _dict_items(v)]}
        if _issub(t, _frozenset):
            return {"set": [enc(x, d, budget) for x in _fset_iter(v)]}
        if _issub(t, _set):
            return {"set": [enc(x, d, budget) for x in _set_iter(v)]}
        try:
            name = _str_str(t.__qualname__)
        except _BaseException:
            name = "object"
        raise _NotPlain("a %s, not plain data" % name[:80])
    def line(obj):
        try:
            return (_dumps(obj, allow_nan=False) + "\n").encode()
        except (ValueError, TypeError, _RecursionError) as exc:
            return (_dumps({"i": obj["i"], "not_plain": "cannot be written: %s" % _str(exc)[:100]}) + "\n").encode()
    if job["hook"]:
        allow = tuple(p for p in sys.path if p and p.startswith("/")) + ("/dev/null", "/dev/urandom", "/dev/zero")
        install_hook(root, job["network"], allow)
    sys.argv = ["main.py"]
    if not calls_mode:
        exec(code, {"__name__": "__main__", "__builtins__": __builtins__})
        return
    import types
    module = types.ModuleType("solution")
    module.__dict__["__builtins__"] = __builtins__
    sys.modules["solution"] = module
    g = module.__dict__
    exec(code, g)
    for s in setup:
        exec(s, g)
    for i, c in enumerate(calls):
        try:
            v = eval(c, g)
        except _BaseException as exc:
            try:
                msg = "%s: %s" % (_type(exc).__name__, exc)
            except _BaseException:
                msg = "exception"
            emit(line({"i": i, "raised": _str_str(msg)[:300]}))
            continue
        try:
            out = {"i": i, "value": enc(v, 0, [max_items])}
        except _NotPlain as exc:
            out = {"i": i, "not_plain": _str_str(exc.args[0])}
        except _RecursionError:
            out = {"i": i, "not_plain": "nested too deeply"}
        emit(line(out))
"""

# --- the parent's side ------------------------------------------------------------------------


class Unconvertible(ValueError):
    """An assert that cannot be checked without trusting the candidate's process."""


class Unreadable(ValueError):
    """The child's results channel does not hold what the protocol says."""


class CheckFailed(ValueError):
    """A check that could not be evaluated on the values the child returned (a failure)."""


@dataclass(frozen=True, slots=True)
class Check:
    """One assert, split: `expr` (evaluated in the parent) refers to child values as `_rm<k>`."""

    source: str
    expr: ast.expr
    uses: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class AssertPlan:
    """What the child runs (imports, call expressions) and what the parent checks."""

    setup: tuple[str, ...]
    calls: tuple[str, ...]
    checks: tuple[Check, ...]


@dataclass(frozen=True, slots=True)
class CallResult:
    """What the child said about one call: a decoded plain value, an exception, or not plain."""

    kind: str  # "value" | "raised" | "not_plain"
    value: Any = None
    message: str = ""


def _safe_round(x: Any, n: Any = None) -> Any:
    return round(x) if n is None else round(x, n)


def _bounded_int(x: Any, *base: Any) -> int:
    if type(x) is str and len(x) > 5000:
        raise CheckFailed("int() of a string over 5000 characters")
    return int(x, *base)


# Functions the parent applies to plain values (never to candidate objects: there are none here).
SAFE_FUNCS: dict[str, Any] = {
    "len": len,
    "sorted": sorted,
    "set": set,
    "frozenset": frozenset,
    "list": list,
    "tuple": tuple,
    "dict": dict,
    "abs": abs,
    "round": _safe_round,
    "sum": sum,
    "min": min,
    "max": max,
    "str": str,
    "int": _bounded_int,
    "float": float,
    "bool": bool,
    "all": all,
    "any": any,
    "reversed": lambda x: list(reversed(x)),
    "isclose": math.isclose,
}
SAFE_MODULE_ATTRS: dict[str, dict[str, Any]] = {
    "math": {
        "isclose": math.isclose,
        "fabs": math.fabs,
        "floor": math.floor,
        "ceil": math.ceil,
        "sqrt": math.sqrt,
        "pi": math.pi,
        "e": math.e,
        "inf": math.inf,
    },
}
SAFE_METHODS: dict[type, frozenset[str]] = {
    str: frozenset(
        "strip lstrip rstrip lower upper split splitlines count startswith endswith replace join "
        "isdigit isalpha isalnum isspace isupper islower find index title capitalize".split()
    ),
    bytes: frozenset("strip lstrip rstrip lower upper split count startswith endswith decode".split()),
    list: frozenset(("count", "index")),
    tuple: frozenset(("count", "index")),
    dict: frozenset(("keys", "values", "items", "get")),
}
_ALL_METHODS = frozenset().union(*SAFE_METHODS.values())
_BINOPS = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_ORDER = {ast.Lt: operator.lt, ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge}
_MAX_SEQ = 1_000_000
_MAX_DEPTH = 200


def _setup_names(stmt: ast.stmt) -> dict[str, str]:
    """Names an import binds → the module path (for `math.isclose` and `from math import isclose`)."""
    out: dict[str, str] = {}
    if isinstance(stmt, ast.Import):
        for a in stmt.names:
            out[a.asname or a.name.split(".")[0]] = a.name if a.asname else a.name.split(".")[0]
    elif isinstance(stmt, ast.ImportFrom) and stmt.module:
        for a in stmt.names:
            out[a.asname or a.name] = f"{stmt.module}.{a.name}"
    return out


class _Splitter:
    """Split one assert's test into parent-side AST and child-side call expressions."""

    def __init__(self, imported: dict[str, str], calls: list[str]) -> None:
        self.imported = imported
        self.calls = calls
        self.uses: list[int] = []

    def parent_name(self, name: str) -> bool:
        """A name the parent knows: a safe builtin or an import (never the program's)."""
        return name in SAFE_FUNCS or name in self.imported

    def reaches_program(self, node: ast.AST) -> bool:
        for n in ast.walk(node):
            if isinstance(n, ast.Name) and not self.parent_name(n.id):
                return True
        return False

    def ship(self, node: ast.expr) -> ast.expr:
        k = len(self.calls)
        self.calls.append(ast.unparse(node))
        self.uses.append(k)
        return ast.copy_location(ast.Name(id=f"_rm{k}", ctx=ast.Load()), node)

    def split(self, node: ast.expr) -> ast.expr:
        if not self.reaches_program(node):
            self.parent_only(node)
            return node
        if isinstance(node, ast.Name):
            return self.ship(node)
        if isinstance(node, ast.Call):
            f = node.func
            if self.parent_func(f):
                return self.call_with(node, f)
            if isinstance(f, ast.Attribute) and f.attr in _ALL_METHODS and self.reaches_program(f.value):
                # f(x).strip(): the parent strips the plain value the child returned
                value = self.split(f.value)
                func = ast.copy_location(ast.Attribute(value=value, attr=f.attr, ctx=ast.Load()), f)
                return self.call_with(node, func)
            return self.ship(node)  # a call into the program: it runs in the child, with its arguments
        if isinstance(node, ast.Attribute):
            return self.ship(node)
        if isinstance(node, ast.Subscript):
            return ast.copy_location(
                ast.Subscript(value=self.split(node.value), slice=self.split(node.slice), ctx=ast.Load()),
                node,
            )
        if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
            return ast.copy_location(
                ast.BinOp(left=self.split(node.left), op=node.op, right=self.split(node.right)), node
            )
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd, ast.Not)):
            return ast.copy_location(ast.UnaryOp(op=node.op, operand=self.split(node.operand)), node)
        if isinstance(node, ast.BoolOp):
            return ast.copy_location(
                ast.BoolOp(op=node.op, values=[self.split(v) for v in node.values]), node
            )
        if isinstance(node, ast.Compare):
            self.check_compare(node)
            return ast.copy_location(
                ast.Compare(
                    left=self.split(node.left),
                    ops=node.ops,
                    comparators=[self.split(c) for c in node.comparators],
                ),
                node,
            )
        if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
            return ast.copy_location(
                type(node)(elts=[self.split(e) for e in node.elts], ctx=ast.Load()), node
            )
        if isinstance(node, ast.Dict) and None not in node.keys:
            return ast.copy_location(
                ast.Dict(
                    keys=[self.split(k) for k in node.keys], values=[self.split(v) for v in node.values]
                ),
                node,  # type: ignore[arg-type]
            )
        if isinstance(node, ast.Slice):
            return ast.copy_location(
                ast.Slice(
                    *(self.split(p) if p is not None else None for p in (node.lower, node.upper, node.step))
                ),
                node,
            )
        raise Unconvertible(
            f"{type(node).__name__} around a program call cannot be evaluated outside the candidate: "
            f"{ast.unparse(node)[:80]}"
        )

    def call_with(self, node: ast.Call, func: ast.expr) -> ast.expr:
        for kw in node.keywords:
            if kw.arg is None:
                raise Unconvertible("**kwargs in a check")
        if any(isinstance(a, ast.Starred) for a in node.args):
            raise Unconvertible("*args in a check")
        return ast.copy_location(
            ast.Call(
                func=func,
                args=[self.split(a) for a in node.args],
                keywords=[ast.keyword(arg=kw.arg, value=self.split(kw.value)) for kw in node.keywords],
            ),
            node,
        )

    def module_attr(self, f: ast.Attribute) -> Any:
        if isinstance(f.value, ast.Name) and f.value.id in self.imported:
            return SAFE_MODULE_ATTRS.get(self.imported[f.value.id], {}).get(f.attr)
        return None

    def check_compare(self, node: ast.Compare) -> None:
        for op, right in zip(node.ops, node.comparators, strict=True):
            if isinstance(op, (ast.Is, ast.IsNot)) and not (
                isinstance(right, ast.Constant)
                and right.value in (None, True, False)
                and type(right.value) in (type(None), bool)
            ):
                raise Unconvertible(
                    "`is` compares identity; only `is None`, `is True` and `is False` can be checked"
                )

    def parent_only(self, node: ast.expr | None) -> None:
        """Refuse, at plan time, parent-side expressions the evaluator does not handle."""
        if node is None:
            return
        if isinstance(node, ast.Constant):
            if type(node.value) in (type(None), bool, int, float, complex, str, bytes):
                return
        elif isinstance(node, (ast.List, ast.Tuple, ast.Set)):
            for e in node.elts:
                self.parent_only(e)
            return
        elif isinstance(node, ast.Dict) and None not in node.keys:
            for k, v in zip(node.keys, node.values, strict=True):
                self.parent_only(k)
                self.parent_only(v)
            return
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd, ast.Not)):
            return self.parent_only(node.operand)
        elif isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
            self.parent_only(node.left)
            return self.parent_only(node.right)
        elif isinstance(node, ast.BoolOp):
            for v in node.values:
                self.parent_only(v)
            return
        elif isinstance(node, ast.Compare):
            self.check_compare(node)
            self.parent_only(node.left)
            for c in node.comparators:
                self.parent_only(c)
            return
        elif isinstance(node, ast.Call) and not any(isinstance(a, ast.Starred) for a in node.args):
            f = node.func
            if self.parent_func(f) or (isinstance(f, ast.Attribute) and f.attr in _ALL_METHODS):
                if isinstance(f, ast.Attribute) and self.module_attr(f) is None:
                    self.parent_only(f.value)
                for a in node.args:
                    self.parent_only(a)
                for kw in node.keywords:
                    if kw.arg is None:
                        break
                    self.parent_only(kw.value)
                else:
                    return
        elif isinstance(node, ast.Attribute) and self.module_attr(node) is not None:
            return
        elif isinstance(node, ast.Subscript):
            self.parent_only(node.value)
            return self.parent_only(node.slice)
        elif isinstance(node, ast.Slice):
            for part in (node.lower, node.upper, node.step):
                self.parent_only(part)
            return
        raise Unconvertible(f"cannot evaluate `{ast.unparse(node)[:80]}` outside the candidate")

    def parent_func(self, f: ast.expr) -> bool:
        """A function the parent applies itself: a safe builtin, `math.isclose` and friends."""
        if isinstance(f, ast.Name):
            return f.id in SAFE_FUNCS or self.imported.get(f.id) == "math.isclose"
        return isinstance(f, ast.Attribute) and self.module_attr(f) is not None


def plan_asserts(asserts: list[str]) -> AssertPlan:
    """Split assert statements into child calls and parent checks; raises `Unconvertible`
    naming the assert that cannot be checked safely.

    >>> p = plan_asserts(["assert add(1, 2) == 3"])
    >>> p.calls, [c.uses for c in p.checks]
    (('add(1, 2)',), [(0,)])
    """
    setup: list[str] = []
    imported: dict[str, str] = {}
    calls: list[str] = []
    checks: list[Check] = []
    for i, text in enumerate(asserts):
        try:
            tree = ast.parse(text)
        except SyntaxError as exc:
            raise Unconvertible(f"asserts[{i}] is not Python: {exc.msg}") from None
        for stmt in tree.body:
            if isinstance(stmt, (ast.Import, ast.ImportFrom)):
                setup.append(ast.unparse(stmt))
                imported.update(_setup_names(stmt))
                continue
            if not isinstance(stmt, ast.Assert):
                raise Unconvertible(
                    f"asserts[{i}]: only assert statements and imports can be checked outside the candidate "
                    f"(found {type(stmt).__name__})"
                )
            tests = (
                stmt.test.values
                if isinstance(stmt.test, ast.BoolOp) and isinstance(stmt.test.op, ast.And)
                else [stmt.test]
            )
            for test in tests:
                sp = _Splitter(imported, calls)
                try:
                    expr = sp.split(test)
                except Unconvertible as exc:
                    raise Unconvertible(f"asserts[{i}] `{ast.unparse(stmt)[:100]}`: {exc}") from None
                if not sp.uses:
                    raise Unconvertible(f"asserts[{i}] `{ast.unparse(stmt)[:100]}` does not call the program")
                source = ast.unparse(stmt) if len(tests) == 1 else f"assert {ast.unparse(test)}"
                checks.append(Check(source, expr, tuple(sp.uses)))
    if not checks:
        raise Unconvertible("no assert to check")
    return AssertPlan(tuple(setup), tuple(calls), tuple(checks))


def _decode(x: Any, depth: int = 0) -> Any:
    if depth > _MAX_DEPTH:
        raise Unreadable("nested too deeply")
    t = type(x)
    if x is None or t in (bool, int, float, str):
        return x
    if t is dict and len(x) == 1:
        ((tag, payload),) = x.items()
        d = depth + 1
        if tag == "float" and payload in ("nan", "inf", "-inf"):
            return float(payload)
        if type(payload) is list:
            if tag == "list":
                return [_decode(e, d) for e in payload]
            if tag == "tuple":
                return tuple(_decode(e, d) for e in payload)
            try:
                if tag == "set":
                    return {_decode(e, d) for e in payload}
                if tag == "dict" and all(type(p) is list and len(p) == 2 for p in payload):
                    return {_decode(k, d): _decode(v, d) for k, v in payload}
            except TypeError:
                raise Unreadable("an unhashable set element or dict key") from None
            if tag == "complex" and len(payload) == 2:
                re, im = (_decode(e, d) for e in payload)
                if type(re) in (int, float) and type(im) in (int, float):
                    return complex(re, im)
        if tag == "bytes" and type(payload) is str:
            try:
                return bytes.fromhex(payload)
            except ValueError:
                raise Unreadable("bad bytes") from None
    raise Unreadable(f"not a tagged plain value: {json.dumps(x)[:60]}")


def read_results(raw: bytes, n: int) -> list[CallResult]:
    """Decode the child's results channel: exactly `n` lines, one per call, in order; raises
    `Unreadable` when it holds anything else (fewer lines: the program left before its calls ran).
    """
    lines = raw.decode("utf-8", "replace").splitlines()
    if len(lines) < n:
        raise Unreadable(f"{len(lines)} of {n} results")
    if len(lines) > n:
        raise Unreadable(f"{len(lines)} results for {n} calls")
    out: list[CallResult] = []
    for i, text in enumerate(lines):
        try:
            obj = json.loads(text)
        except (ValueError, RecursionError):
            raise Unreadable(f"result {i} is not JSON") from None
        if type(obj) is not dict or obj.get("i") != i or len(obj) != 2:
            raise Unreadable(f"result {i} is malformed")
        if "value" in obj:
            try:
                out.append(CallResult("value", _decode(obj["value"])))
            except RecursionError:
                raise Unreadable("nested too deeply") from None
        elif type(obj.get("raised")) is str:
            out.append(CallResult("raised", message=obj["raised"][:300]))
        elif type(obj.get("not_plain")) is str:
            out.append(CallResult("not_plain", message=obj["not_plain"][:200]))
        else:
            raise Unreadable(f"result {i} is malformed")
    return out


def canonical(v: Any, depth: int = 0) -> tuple:
    """A hashable form of a plain value built from builtins only: equal forms ⇔ `strict_equal`.

    >>> canonical(2) == canonical(2.0), canonical(True) == canonical(1), canonical([1]) == canonical((1,))
    (True, False, False)
    """
    if depth > _MAX_DEPTH:
        raise CheckFailed("nested too deeply to compare")
    t = type(v)
    d = depth + 1
    if v is None:
        return ("none",)
    if t is bool:
        return ("bool", v)
    if t in (int, float, complex):
        return ("num", v)
    if t is str:
        return ("str", v)
    if t is bytes:
        return ("bytes", v)
    if t is list:
        return ("list", tuple(canonical(x, d) for x in v))
    if t is tuple:
        return ("tuple", tuple(canonical(x, d) for x in v))
    if t in (set, frozenset):
        return ("set", frozenset(canonical(x, d) for x in v))
    if t is dict:
        return ("dict", frozenset((canonical(k, d), canonical(x, d)) for k, x in v.items()))
    raise CheckFailed(f"{t.__name__} is not plain data")


def strict_equal(a: Any, b: Any) -> bool:
    """Type-strict equality of plain data, with no `__eq__` but the builtins' own."""
    return canonical(a) == canonical(b)


def _contains(container: Any, item: Any) -> bool:
    if type(container) is str and type(item) is str or type(container) is bytes and type(item) is bytes:
        return item in container
    if type(container) is dict:
        container = list(container)
    if type(container) not in (list, tuple, set, frozenset):
        raise CheckFailed(f"`in` on a {type(container).__name__}")
    key = canonical(item)
    return any(canonical(x) == key for x in container)


def _guard_binop(op: type, a: Any, b: Any) -> None:
    if op is ast.Pow and type(a) is int and type(b) is int and abs(a) > 1 and b > 0:
        if b * max(1, a.bit_length()) > 1_000_000:
            raise CheckFailed("power too large")
    if op is ast.Mult:
        for seq, k in ((a, b), (b, a)):
            if type(seq) in (str, bytes, list, tuple) and type(k) is int and len(seq) * k > _MAX_SEQ:
                raise CheckFailed("repetition too large")


class _Evaluator:
    """Evaluate a parent-side check over plain values (builtins only, no candidate objects)."""

    def __init__(self, env: dict[str, Any], imported: dict[str, str]) -> None:
        self.env = env
        self.imported = imported

    def ev(self, n: ast.expr) -> Any:
        if isinstance(n, ast.Constant):
            if type(n.value) not in (type(None), bool, int, float, complex, str, bytes):
                raise CheckFailed(f"constant {n.value!r}")
            return n.value
        if isinstance(n, ast.Name):
            if n.id in self.env:
                return self.env[n.id]
            raise CheckFailed(f"name {n.id}")
        if isinstance(n, ast.List):
            return [self.ev(e) for e in n.elts]
        if isinstance(n, ast.Tuple):
            return tuple(self.ev(e) for e in n.elts)
        if isinstance(n, ast.Set):
            return {self.ev(e) for e in n.elts}
        if isinstance(n, ast.Dict):
            return {self.ev(k): self.ev(v) for k, v in zip(n.keys, n.values, strict=True)}  # type: ignore[arg-type]
        if isinstance(n, ast.UnaryOp):
            v = self.ev(n.operand)
            if isinstance(n.op, ast.Not):
                return not v
            return -v if isinstance(n.op, ast.USub) else +v
        if isinstance(n, ast.BinOp):
            a, b = self.ev(n.left), self.ev(n.right)
            _guard_binop(type(n.op), a, b)
            return _BINOPS[type(n.op)](a, b)
        if isinstance(n, ast.BoolOp):
            v = None
            for part in n.values:
                v = self.ev(part)
                if isinstance(n.op, ast.And) and not v or isinstance(n.op, ast.Or) and v:
                    return v
            return v
        if isinstance(n, ast.Compare):
            left = self.ev(n.left)
            for op, comp in zip(n.ops, n.comparators, strict=True):
                right = self.ev(comp)
                if not self.compare(op, left, right):
                    return False
                left = right
            return True
        if isinstance(n, ast.Call):
            func = self.func(n.func)
            args = [self.ev(a) for a in n.args]
            kwargs = {kw.arg: self.ev(kw.value) for kw in n.keywords if kw.arg}
            if func is sorted and set(kwargs) - {"reverse"}:
                raise CheckFailed("sorted() with a key")
            return func(*args, **kwargs)
        if isinstance(n, ast.Subscript):
            container, index = self.ev(n.value), self.ev(n.slice)
            if type(container) not in (list, tuple, str, bytes, dict):
                raise CheckFailed(f"indexing a {type(container).__name__}")
            return container[index]
        if isinstance(n, ast.Slice):
            return slice(*(self.ev(p) if p is not None else None for p in (n.lower, n.upper, n.step)))
        if isinstance(n, ast.Attribute):
            if isinstance(n.value, ast.Name) and n.value.id in self.imported:
                attrs = SAFE_MODULE_ATTRS.get(self.imported[n.value.id], {})
                if n.attr in attrs:
                    return attrs[n.attr]
            raise CheckFailed(f"attribute {n.attr}")
        raise CheckFailed(f"{type(n).__name__}")

    def func(self, f: ast.expr) -> Any:
        if isinstance(f, ast.Name):
            if f.id in SAFE_FUNCS:
                return SAFE_FUNCS[f.id]
            if self.imported.get(f.id) == "math.isclose":
                return math.isclose
        if isinstance(f, ast.Attribute):
            if isinstance(f.value, ast.Name) and f.value.id in self.imported:
                return self.ev(f)
            obj = self.ev(f.value)
            if f.attr in SAFE_METHODS.get(type(obj), ()):
                return getattr(obj, f.attr)
            raise CheckFailed(f"{type(obj).__name__}.{f.attr}()")
        raise CheckFailed(f"call of {ast.unparse(f)[:40]}")

    def compare(self, op: ast.cmpop, a: Any, b: Any) -> bool:
        if isinstance(op, ast.Eq):
            return strict_equal(a, b)
        if isinstance(op, ast.NotEq):
            return not strict_equal(a, b)
        if isinstance(op, ast.In):
            return _contains(b, a)
        if isinstance(op, ast.NotIn):
            return not _contains(b, a)
        if isinstance(op, ast.Is):
            return a is b
        if isinstance(op, ast.IsNot):
            return a is not b
        canonical(a), canonical(b)  # plain data only
        return bool(_ORDER[type(op)](a, b))


def evaluate_check(check: Check, results: list[CallResult], setup: tuple[str, ...]) -> tuple[bool, str]:
    """(passed, why) for one check over the child's results; `why` names a failure."""
    env: dict[str, Any] = {}
    for k in check.uses:
        r = results[k]
        if r.kind != "value":
            return False, r.kind
        env[f"_rm{k}"] = r.value
    imported: dict[str, str] = {}
    for s in setup:
        imported.update(_setup_names(ast.parse(s).body[0]))
    try:
        value = _Evaluator(env, imported).ev(check.expr)
        canonical(value)
        return bool(value), ""
    except CheckFailed as exc:
        return False, str(exc)
    except (ArithmeticError, TypeError, ValueError, IndexError, KeyError, RecursionError) as exc:
        return False, f"{type(exc).__name__}: {exc}"[:120]
