"""change_request, review_decision and summary_row; normalising, applying changes, deriving summary rows."""

import pytest

import forms
from forms import examples

from .helpers import errors, reg


def change(*items, **extra):
    return {"id_number": "370102199001011231", "changes": list(items), "reason": "本人申请", **extra}


# -- change request ----------------------------------------------------------------------------------------


def test_new_values_are_validated_with_the_registration_rules_of_their_field():
    doc = change(
        {"field": "/phone", "old": "13800000000", "new": "12345"},
        {"field": "/hukou/division", "new": "370102001999"},
        {"field": "/ethnicity", "new": "99"},
        {"field": "/employment", "new": {"status": "11", "salary": 1}},
        {"field": "/insurance/0/status", "new": "1"},
    )
    assert errors("change_request", doc) == {
        ("/changes/0/new", "phone.format"),
        ("/changes/1/new", "division.unknown"),
        ("/changes/2/new", "code.unknown"),
        ("/changes/3/new/salary", "field.unknown"),
        ("/changes/3/new/employer", "employment.employer_required"),
    }


def test_the_field_must_be_a_changeable_field_of_the_registration():
    doc = change(
        {"field": "/nickname", "new": "x"},
        {"field": "phone", "new": "13900000000"},
        {"field": "/id_number", "new": "11010519491231002X"},
        {"field": "/survey/date", "new": "2025-01-01"},
        {"field": "", "new": {}},
    )
    assert errors("change_request", doc) == {
        ("/changes/0/field", "change.field_unknown"),
        ("/changes/1/field", "change.field_unknown"),
        ("/changes/2/field", "change.field_protected"),
        ("/changes/3/field", "change.field_protected"),
        ("/changes/4/field", "field.empty"),
    }


def test_a_field_is_changed_once_per_request():
    doc = change(
        {"field": "/hukou/address", "new": "新地址"}, {"field": "/hukou", "new": {"division": "370102001002"}}
    )
    assert errors("change_request", doc) == {("/changes/1/field", "change.field_duplicate")}


def test_null_clears_an_optional_field_but_not_a_required_one():
    assert forms.validate("change_request", change({"field": "/phone", "new": None})) == []
    assert errors("change_request", change({"field": "/name", "new": None})) == {
        ("/changes/0/new", "change.value_required")
    }


def test_a_change_must_change_something():
    assert errors(
        "change_request", change({"field": "/phone", "old": "13800000000", "new": "13800000000"})
    ) == {("/changes/0/new", "change.unchanged")}


def test_old_values_are_bounded():
    assert errors(
        "change_request", change({"field": "/phone", "old": "1" * 10_000, "new": "13900000000"})
    ) == {("/changes/0/old", "change.old_too_large")}
    assert errors(
        "change_request", change({"field": "/phone", "old": float("nan"), "new": "13900000000"})
    ) == {("/changes/0/old", "change.old_too_large")}


def test_change_request_structure():
    assert errors(
        "change_request", {"id_number": "370102199001011234", "changes": [], "evidence": ["a", "a"]}
    ) == {
        ("/id_number", "id_number.checksum"),
        ("/changes", "field.too_few"),
        ("/reason", "field.required"),
        ("/evidence", "field.duplicate"),
    }


def test_apply_changes_gives_the_record_to_validate_as_a_whole():
    record = forms.example("registration")
    changed = forms.apply_changes(record, forms.example("change_request")["changes"])
    assert changed["phone"] == "13900000000" and changed["residence"]["division"] == "370102001003"
    assert record["phone"] == "13800000000"  # the original is untouched
    assert forms.validate("registration", changed) == []
    # each field was fine alone, the record is not: sex no longer agrees with the number
    wrong = forms.apply_changes(record, [{"field": "/sex", "new": "2"}])
    assert errors("registration", wrong) == {("/sex", "sex.mismatch")}
    appended = forms.apply_changes(
        record, [{"field": "/insurance/-", "new": {"scheme": "210", "status": "1", "place": "370100"}}]
    )
    assert appended["insurance"][-1]["scheme"] == "210"
    removed = forms.apply_changes(
        record, [{"field": "/phone", "new": None}, {"field": "/insurance/0", "new": None}]
    )
    assert "phone" not in removed and len(removed["insurance"]) == 1


# -- review decision ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("decision", ["return", "reject"])
def test_return_and_reject_need_a_reason(decision):
    assert errors("review_decision", {"decision": decision}) == {("/reason", "review.reason_required")}
    assert forms.validate("review_decision", {"decision": decision, "reason": "材料不全"}) == []


def test_approve_needs_no_reason_and_lists_nothing_to_correct():
    assert forms.validate("review_decision", {"decision": "approve"}) == []
    assert errors("review_decision", {"decision": "approve", "return_items": ["/phone"]}) == {
        ("/return_items", "review.items_on_approve")
    }


def test_return_items_point_at_registration_fields():
    doc = {
        "decision": "return",
        "reason": "请补正",
        "return_items": ["/phone", "/hukou/division", "/nope", "phone"],
    }
    assert errors("review_decision", doc) == {
        ("/return_items/2", "review.item_unknown"),
        ("/return_items/3", "review.item_unknown"),
    }
    assert errors("review_decision", {"decision": "pass"}) == {("/decision", "code.unknown")}


# -- summary row -------------------------------------------------------------------------------------------


def test_summary_row_from_a_registration_is_a_valid_row():
    row = forms.summary_row_from(forms.example("registration"), seq=7)
    assert forms.validate("summary_row", row) == []
    assert (
        row["seq"] == 7 and row["status_110"] == "1" and row["status_310"] == "1" and "status_170" not in row
    )
    assert row["surveyors"] == "李四（DC370102001）、王五（DC370102002）"
    assert row["survey_team"] == "370102001-01" and row["survey_date"] == "2025-06-18"
    minor = forms.summary_row_from(examples.REGISTRATION_MINOR, seq=8, remarks="新生儿")
    assert forms.validate("summary_row", minor) == []
    assert minor["uninsured_reason"] == "08" and minor["remarks"] == "新生儿"


def test_summary_row_checks_identity_like_the_form():
    row = forms.example("summary_row") | {"sex": "2", "hukou_division": "370102001999"}
    assert errors("summary_row", row) == {("/sex", "sex.mismatch"), ("/hukou_division", "division.unknown")}


# -- normalisation and internal failures -------------------------------------------------------------------


def test_normalize_canonicalises_id_numbers_everywhere_and_leaves_bad_ones_for_validate():
    doc = reg(id_number="３７０１０２１９９００１０１１２３１ ")
    doc["guardian"] = {"name": "王五", "id_number": "370102198808083215", "relation": "51"}
    clean = forms.normalize("registration", doc)
    assert clean["id_number"] == "370102199001011231" and doc["id_number"] != clean["id_number"]
    cr = forms.normalize(
        "change_request", change({"field": "/guardian/id_number", "new": "11010549123100２"})
    )
    assert cr["changes"][0]["new"] == "11010519491231002X"
    assert forms.normalize("registration", reg(id_number="bad"))["id_number"] == "bad"
    assert forms.normalize("registration", "not a dict") == "not a dict"


def test_a_bug_in_a_rule_is_reported_as_an_error_not_raised(monkeypatch):
    form = forms._catalog()["registration"]

    def broken(doc, errs):
        raise ZeroDivisionError

    monkeypatch.setitem(
        forms._catalog(), "registration", form.__class__(form.key, form.schema, form.root, (broken,))
    )
    assert [(e.pointer, e.code) for e in forms.validate("registration", reg())] == [
        ("", "validation.internal")
    ]


def test_the_forms_cli_lists_prints_and_validates(tmp_path):
    import json

    from typer.testing import CliRunner

    from composition.cli import app

    runner = CliRunner()
    listed = runner.invoke(app, ["forms", "list"])
    assert (
        listed.exit_code == 0
        and "registration  全民参保登记表" in listed.output
        and "codes/ethnicity" in listed.output
    )
    printed = runner.invoke(app, ["forms", "schema", "review_decision"])
    assert printed.exit_code == 0 and json.loads(printed.output)["title"] == "审核意见"
    assert runner.invoke(app, ["forms", "schema", "nope"]).exit_code == 1
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_text(json.dumps(forms.example("registration"), ensure_ascii=False), encoding="utf-8")
    bad.write_text(json.dumps(reg(phone="1")), encoding="utf-8")
    assert runner.invoke(app, ["forms", "validate", "registration", str(good)]).exit_code == 0
    refused = runner.invoke(app, ["forms", "validate", "registration", str(bad)])
    assert refused.exit_code == 1 and "/phone  phone.format" in refused.output
