"""JUEL conditions from Camunda 7 and Flowable, translated to expressions the script sandbox runs: each
translation evaluates as the JUEL does, and anything outside the subset is refused with a reason."""

import pytest

from engine import sandbox
from engine.dialects import juel

DATA = {
    "approved": True,
    "rejected": False,
    "decision": "approve",
    "amount": 1200,
    "nothing": None,
    "empty_text": "",
    "items": [],
    "review": {"decision": "return", "reason": "电话号码有误", "score": 7},
}

CASES = [
    # (JUEL, what the sandbox evaluates, the value JUEL gives for DATA)
    ("${approved}", "approved", True),
    ("#{approved}", "approved", True),
    ("${!approved}", "not approved", False),
    ("${not rejected}", "not rejected", True),
    ("${decision == 'approve'}", "decision == 'approve'", True),
    ('${decision eq "reject"}', "decision == 'reject'", False),
    ("${decision != 'approve'}", "decision != 'approve'", False),
    ("${decision ne 'reject'}", "decision != 'reject'", True),
    ("${approved && decision == 'approve'}", "approved and decision == 'approve'", True),
    ("${rejected || amount > 1000}", "rejected or (amount is not None and amount > 1000)", True),
    ("${rejected and amount gt 1000}", "rejected and (amount is not None and amount > 1000)", False),
    ("${amount >= 1200 && amount le 1200}", None, True),
    ("${amount < 10 or amount lt 10}", None, False),
    ("${!(approved && rejected)}", "not (approved and rejected)", True),
    ("${review.decision == 'return'}", "review.get('decision') == 'return'", True),
    ("${review['decision'] == \"return\"}", "review.get('decision') == 'return'", True),
    ("${review.score > 5}", None, True),
    ("${review.missing == null}", "review.get('missing') is None", True),
    ("${nothing != null}", "nothing is not None", False),
    ("${nothing > 5}", None, False),  # JUEL: a comparison with null is false, not an error
    ("${empty nothing}", None, True),
    ("${empty empty_text && empty items}", None, True),
    ("${not empty review.reason}", None, True),
    ("${amount > -1}", None, True),
    ("${approved ? decision == 'approve' : false}", None, True),
    ("${true}", "True", True),
    ("${ approved == true }", "approved == True", True),
    ("${amount == 1200.0}", None, True),
    ("${decision == 'it\\'s'}", None, False),
]


@pytest.mark.parametrize(("source", "python", "value"), CASES, ids=[c[0] for c in CASES])
def test_a_juel_condition_runs_in_the_sandbox_as_juel_evaluates_it(source, python, value):
    translated = juel.translate(source)
    if python is not None:
        assert translated == python
    assert sandbox.check(translated, "eval") is None
    assert sandbox.ENVIRONMENT.evaluate(translated, dict(DATA)) is value


REFUSED = [
    ("${execution.getVariable('approved')}", "方法"),
    ("${genderBean.getGenderString(gender)}", "方法"),
    ("${amount > 1000 * rate}", "算术"),
    ("${amount + 1 > 5}", "算术"),
    ("${count mod 2 == 0}", "算术"),
    ("结论：${decision}", "整个条件"),
    ("${a}${b}", "整个条件"),
    ("${_secret}", "下划线"),
    ("${class == 1}", "class"),
    ("${None}", "None"),
    ("${items[0] == 1}", "下标"),
    ("${fn:contains(a, b)}", "函数"),
    ("${decision == 'approve}", "引号"),
    ("${}", "空"),
    ("${approved &&}", "不完整"),
    ("${a instanceof b}", "instanceof"),
    ("${x = 1}", "="),
    ("${task.assignee == 'a'}", "task"),
    ("approved", "${"),
]


@pytest.mark.parametrize(("source", "reason"), REFUSED, ids=[r[0] for r in REFUSED])
def test_anything_outside_the_subset_is_refused_with_a_reason(source, reason):
    with pytest.raises(juel.Untranslatable) as refused:
        juel.translate(source)
    assert reason in str(refused.value)
    assert "None" not in str(refused.value) or reason == "None"
