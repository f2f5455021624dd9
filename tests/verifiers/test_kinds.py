"""Exact, strict, numeric and multiple-choice verifiers; the registry contract over every entry."""

from __future__ import annotations

import pytest

from reasonmill.records import Reason
from reasonmill.verifiers import VERIFIERS, CheckItem, Verifier, VerifyPolicy, check_inline, verifier_for_kind

P = VerifyPolicy()


def verdict(kind: str, gold: str, prediction: str | None, policy: VerifyPolicy = P):
    return check_inline(CheckItem(kind, gold, prediction), policy)


def test_every_kind_maps_to_its_verifier() -> None:
    assert {
        k: verifier_for_kind(k).name for k in ("math", "numeric", "exact", "exact_strict", "choice", "code")
    } == {
        "math": "math",
        "numeric": "numeric",
        "exact": "exact",
        "exact_strict": "exact_strict",
        "choice": "choice",
        "code": "code",
    }


def test_free_form_is_unverifiable_until_a_judge_registers() -> None:
    v = verdict("free_form", "Because supply fell.", "Supply fell, so prices rose.")
    assert (v.passed, v.reason) == (False, Reason.UNVERIFIABLE)
    assert "free_form" in v.detail


# A gold and a right and a wrong prediction for every registered verifier (contract test).
CONTRACT = {
    "math": ("\\frac{1}{2}", "\\boxed{0.5}", "\\boxed{0.25}"),
    "numeric": ("2.5", "Answer: 2.50", "Answer: 2.6"),
    "exact": ("Paris", "The answer is Paris.", "The answer is Lyon."),
    "exact_strict": ("aB c", "<answer>aB c</answer>", "<answer>ab c</answer>"),
    "choice": ("C", "The answer is (C).", "The answer is (A)."),
    "code": (
        '{"asserts": ["assert sq(3) == 9"]}',
        "```python\ndef sq(x):\n    return x * x\n```",
        "```python\ndef sq(x):\n    return x + x\n```",
    ),
    "countdown": (
        '{"numbers": [2, 3, 7], "target": 13, "expression": "2 * 3 + 7"}',
        "\\boxed{7 + 3 * 2}",
        "\\boxed{7 + 3 + 2}",
    ),
}
# Kinds whose gold is a record for the verifier, not an answer a model would write.
RECORD_GOLD = {"countdown"}
# Kinds whose gold is a test spec: echoing it is not a solution; the gold is validated on its own
# (kind "code_spec", prediction None; see tests/verifiers/test_hostile_code.py).
SPEC_GOLD = {"code": "code_spec"}


@pytest.mark.parametrize("name", sorted(CONTRACT))
def test_registry_contract(name: str) -> None:
    v = VERIFIERS.get(name)
    assert isinstance(v, Verifier) and v.name == name and v.__doc__
    gold, right, wrong = CONTRACT[name]
    kind = v.kinds[0]
    assert verdict(kind, gold, right).passed
    bad = verdict(kind, gold, wrong)
    assert (bad.passed, bad.reason, bad.verifier) == (False, Reason.MISMATCH, name)
    assert verdict(kind, gold, None).reason == Reason.NO_ANSWER
    if name in SPEC_GOLD:
        assert not verdict(kind, gold, gold).passed
        assert verdict(SPEC_GOLD[name], gold, None).passed
    elif name not in RECORD_GOLD:
        assert verdict(kind, gold, gold).passed  # a gold written as an answer verifies against itself


def test_contract_covers_every_registered_verifier() -> None:
    # reasoning-gym's scorer is written elsewhere and has its own tests
    assert set(VERIFIERS.names()) - {"reasoning_gym"} - set(SPEC_GOLD.values()) <= set(CONTRACT)


def test_exact_normalises_but_strict_does_not() -> None:
    assert verdict("exact", "New York", "Answer:  new   york.").passed
    assert verdict("exact", "\\text{east}", "\\boxed{East}").passed
    assert not verdict("exact_strict", "New York", "Answer: new york").passed


def test_numeric() -> None:
    assert verdict("numeric", "1/3", "\\boxed{0.3333333333333}").passed  # within rel_tol 1e-9
    assert not verdict("numeric", "1/3", "\\boxed{0.33333}").passed
    assert verdict("numeric", "1/3", "\\boxed{0.33333}", VerifyPolicy(rel_tol=1e-4)).passed
    assert verdict("numeric", "1500", "It costs $1,500 in total.").passed
    assert verdict("numeric", "\\sqrt{2}", "1.414").reason == Reason.UNVERIFIABLE
    v = verdict("numeric", "3", "\\boxed{x+1}")
    assert (v.reason, "not a number" in v.detail) == (Reason.MISMATCH, True)


def test_choice() -> None:
    assert verdict("choice", "(B)", "\\boxed{B}").passed
    assert verdict("choice", "b", "I pick B) 12 since it is the only even option.").passed
    assert verdict("choice", "B", "Both look right to me, I cannot decide.").reason == Reason.NO_ANSWER
    assert verdict("choice", "Z", "The answer is Z").reason == Reason.UNVERIFIABLE
    assert (
        verdict("choice", "E", "The answer is E", VerifyPolicy(choice_letters="ABCD")).reason
        == Reason.UNVERIFIABLE
    )
