"""The rule set (issue 19, 规程第七条): the shipped default is today's rules; a rule set with an unknown
field, a cycle or a type error is refused with each problem located; a province's own rule set changes
the classification, the 入库 completeness and is recorded on every run; optional relations (department
data) take part when supplied; `canbao rules` and `GET /stats/rules` show it."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from composition.cli import app
from registry import comparison, persons, rules
from registry.models import ComparisonRun
from tests.api.conftest import api  # noqa: F401  (the fixture)
from tests.registry.helpers import AS_OF, CLERK, enr_row, pid, pop_row
from tests.registry.helpers import registration as make_registration
from tests.registry.test_comparison import flags_of, load

DEFAULT = rules.DEFAULT_PATH.read_text(encoding="utf-8")


def edited(*replacements: tuple[str, str]) -> str:
    text = DEFAULT
    for old, new in replacements:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    return text


def line_of(text: str, fragment: str) -> int:
    return text[: text.index(fragment)].count("\n") + 1


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_the_default_is_valid_and_active_without_a_setting(monkeypatch):
    monkeypatch.delenv("CANBAO_RULES", raising=False)
    rule_set = rules.active()
    assert rule_set is rules.default() and rule_set.label == "default@2026.2"
    assert [k.key for k in rule_set.comparison.classes][-1] == "insured"
    assert "dup.place.390" in {r.code for r in rule_set.comparison.reasons}


def test_unknown_fields_cycles_and_type_errors_are_each_located():
    text = edited(
        ("  active_status:", '  activ_status_typo: ["1"]\n  active_status:'),
        ('    adult: "aged(pension_age)"', '    adult: "aged(pension_age) and grown"\n    grown: "adult"'),
        ("when: birth_mismatch}", "when: birth_mismatch_x}"),
        ('when: "normal and med_emp and med_res"', 'when: "normal and status"'),
        ("/survey/date]", "/survey/date, /hobby]"),
        ('{"all_of": ["hukou"]}', '{"all_of": ["hukou", "tall"]}'),
    )
    rule_set, problems = rules.parse(text, source="sd.yaml")
    assert rule_set is None
    got = {(p.pointer, p.code, p.line) for p in problems}
    assert got == {
        ("/comparison/activ_status_typo", "rules.unknown_field", line_of(text, "activ_status_typo")),
        ("/comparison/facts/adult", "rules.cycle", line_of(text, "    adult:")),
        ("/comparison/flags/inaccurate/1/when", "expr.unknown_field", line_of(text, "birth_mismatch_x")),
        ("/comparison/flags/duplicate/0/when", "expr.type", line_of(text, "normal and status")),
        ("/completeness/required/9", "rules.unknown_field", line_of(text, "/hobby")),
        ("/statistics/counts/5/where/all_of/1", "rules.unknown_field", line_of(text, '"tall"')),
    }
    cycle = next(p for p in problems if p.code == "rules.cycle")
    assert "adult → grown → adult" in cycle.message
    assert cycle.located("sd.yaml").startswith(f"sd.yaml:{cycle.line}: /comparison/facts/adult")


def test_a_bad_file_is_refused_before_use(tmp_path, monkeypatch):
    path = write(
        tmp_path, "bad.yaml", edited(("  pension_age: 16\n  counts:", '  pension_age: "sixteen"\n  counts:'))
    )
    with pytest.raises(rules.RuleSetInvalid) as caught:
        rules.load(path)
    [error] = caught.value.errors
    assert error.pointer == "/statistics/pension_age" and error.code == "rules.type"
    assert error.message.startswith("bad.yaml:")
    for broken, code in (
        ("name: [unclosed", "rules.syntax"),
        ("name: default\nname: twice\n", "rules.duplicate_key"),
    ):
        _, problems = rules.parse(broken)
        assert problems and problems[0].code == code and problems[0].line


PENSION_18 = (
    ("    pension_age: 16", "    pension_age: 18"),
    ('version: "2026.2"', 'version: "sd-2026.2"'),
    ("name: default", "name: sd"),
)


def test_a_provinces_rule_set_changes_the_classification_and_is_recorded(any_db, tmp_path, monkeypatch):
    seventeen = pid("20090101", 1)  # 17 on AS_OF
    path = write(tmp_path, "sd.yaml", edited(*PENSION_18))
    monkeypatch.setenv("CANBAO_RULES", str(path))
    sd = rules.active()
    assert sd.label == "sd@sd-2026.2" and sd.sha256 != rules.default().sha256
    with any_db.sessions() as s, s.begin():
        load(s, [pop_row(seventeen, "孙小")], [enr_row(seventeen, "390")])
        default_run = comparison.run(s, actor=CLERK, area="370102", as_of=AS_OF, rule_set=rules.default()).run
        assert flags_of(s) == {seventeen: {"needs_survey": "missing.pension"}}
        sd_run = comparison.run(s, actor=CLERK, area="370102", as_of=AS_OF).run  # the active one
        assert flags_of(s) == {}
        assert sd_run.counts["by_class"] == {"insured": 1}
        assert sd_run.counts["scheme_exempt"]["pension_under_16"] == 1
        runs = {r.id: r for r in s.scalars(select(ComparisonRun))}
    assert (runs[default_run.id].rule_set, runs[default_run.id].rule_version) == ("default@2026.2", "2026.2")
    assert (runs[sd_run.id].rule_set, runs[sd_run.id].rule_set_sha256) == ("sd@sd-2026.2", sd.sha256)
    assert runs[sd_run.id].rule_version == "sd-2026.2"


EXEMPT = (
    ("  relations:\n", "  relations:\n    exempt:\n      columns: {pension: bool}\n"),
    ("adult and not pension and not departments.student", "adult and not pension and not exempt.pension"),
)


def test_an_optional_relation_takes_part_when_supplied(any_db):
    """A province's own relation (as the default's `departments`): persons it exempts from the pension
    are not flagged 未参全 for it — when the caller supplies the relation; without it, it is empty."""
    exempt, other = pid("19800101", 1), pid("19800101", 2)
    rule_set, problems = rules.parse(edited(*EXEMPT))
    assert problems == [] and rule_set is not None
    with any_db.sessions() as s, s.begin():
        load(
            s,
            [pop_row(exempt, "钱免"), pop_row(other, "钱甲")],
            [enr_row(exempt, "390"), enr_row(other, "390")],
        )
        comparison.run(s, actor=CLERK, area="370102", as_of=AS_OF, rule_set=rule_set)
        assert set(flags_of(s)) == {exempt, other}
        relation = f"SELECT '{exempt}' AS person_id, 1 AS pension"
        comparison.run(
            s, actor=CLERK, area="370102", as_of=AS_OF, rule_set=rule_set, relations={"exempt": relation}
        )
        assert flags_of(s) == {other: {"needs_survey": "missing.pension"}}


def test_an_unknown_relation_column_is_refused():
    _, problems = rules.parse(
        edited(EXEMPT[0], (EXEMPT[1][0], EXEMPT[1][1].replace("exempt.pension", "exempt.age")))
    )
    assert [(p.code, p.message) for p in problems] == [("expr.unknown_field", "未知字段：exempt.age")]


def test_completeness_rules_of_the_province_refuse_an_incomplete_registration(db, tmp_path, monkeypatch):
    number = pid("19800101", 5)
    registration = make_registration(number)
    registration.pop("phone", None)
    path = write(tmp_path, "sd.yaml", edited(("/survey/date]", "/survey/date, /phone]")))
    monkeypatch.setenv("CANBAO_RULES", str(path))
    with db.sessions() as s, s.begin(), pytest.raises(persons.Invalid) as caught:
        persons.store(
            s, actor=CLERK, case_id=7, case_area="370102", person_id=number, registration=registration
        )
    assert [(e.pointer, e.code) for e in caught.value.errors] == [("/phone", "registration.incomplete")]
    monkeypatch.delenv("CANBAO_RULES")
    with db.sessions() as s, s.begin():  # the default rules do not ask for a phone number
        persons.store(
            s, actor=CLERK, case_id=7, case_area="370102", person_id=number, registration=registration
        )


def test_cli_validate_show_diff(tmp_path):
    runner = CliRunner()
    good = write(tmp_path, "sd.yaml", edited(*PENSION_18))
    bad = write(tmp_path, "bad.yaml", edited(("when: name_mismatch}", "when: \"name_mismatch = 'x'\"}")))
    ok = runner.invoke(app, ["rules", "validate", str(rules.DEFAULT_PATH), str(good)])
    assert ok.exit_code == 0 and "sd@sd-2026.2" in ok.output
    refused = runner.invoke(app, ["rules", "validate", str(bad)])
    assert refused.exit_code == 1
    line = line_of(bad.read_text(encoding="utf-8"), "name_mismatch = 'x'")
    assert f"bad.yaml:{line}: /comparison/flags/inaccurate/0/when" in refused.output
    assert "[expr.type]" in refused.output
    diff = runner.invoke(app, ["rules", "diff", str(rules.DEFAULT_PATH), str(good)])
    assert diff.exit_code == 0
    assert '"pointer": "/comparison/params/pension_age"' in diff.output and '"new": 18' in diff.output
    shown = runner.invoke(app, ["rules", "show", "--sql", str(good)])
    assert shown.exit_code == 0 and '"name": "sd"' in shown.output and "WITH p AS" in shown.output
    # a bad file given to show or diff is refused with its problems too
    assert runner.invoke(app, ["rules", "diff", str(good), str(bad)]).exit_code == 1


def test_the_api_shows_the_rule_set_in_force(api):  # noqa: F811
    body = api.get("/stats/rules", "auditor1").json()
    active = rules.active()
    assert body["rule_set"]["name"] == active.name and body["rule_set"]["sha256"] == active.sha256
    assert body["rule_set"]["comparison"]["params"]["pension_age"] == 16
    assert "/survey/channel" in body["rule_set"]["completeness"]["required"]
    refused = api.get("/stats/rules", "surveyor1")
    assert refused.status_code == 403 and refused.json()["code"] == "auth.role_not_allowed"


def test_statistics_record_the_rule_set_and_rebuild_when_it_changes(db):
    from registry.stats import build
    from registry.stats import rules as stats_rules

    with db.sessions() as s, s.begin():
        build.refresh(s, full=True)
        state = build.state(s)
        assert (state.rule_set, state.rule_set_sha256) == (
            stats_rules.RULE_SET.label,
            stats_rules.RULE_SET.sha256,
        )
        assert build.refresh(s).mode == "none"
        state.rule_set_sha256 = "0" * 64  # built under another rule set
        s.flush()
        assert build.refresh(s).mode == "full"
        assert build.state(s).rule_set_sha256 == stats_rules.RULE_SET.sha256
