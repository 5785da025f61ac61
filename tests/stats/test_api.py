"""The statistics API and reports over HTTP: figures for the caller's area only, masking per role,
the drill-down list, XLSX/CSV reports whose totals add up, exports in the audit log, and the survey
progress / 入库率 from real cases."""

from __future__ import annotations

import csv
import io

from openpyxl import load_workbook
from sqlalchemy import select

from canbao.audit.models import AuditEvent
from engine import worker
from registry.stats import build, rules
from tests.api.conftest import api  # noqa: F401  (the fixture)

from ..api.test_lifecycle import _complete, _ready
from ..engine.office import APPROVE, REJECT, VILLAGE, id_number, registration
from .helpers import DAYS_BACK, PHASE1, PHASE2, phase1, phase1_day, phase2, shift_history


def office(api) -> None:  # noqa: F811
    with api.db.sessions() as s, s.begin():
        phase1(s)
    with api.db.sessions() as s, s.begin():
        shift_history(s, DAYS_BACK)
        build.refresh(s, full=True)
    with api.db.sessions() as s, s.begin():
        phase2(s)


def events(api, action: str) -> list[AuditEvent]:  # noqa: F811
    with api.db.sessions() as s:
        return list(s.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def test_coverage_for_the_callers_area_and_refusals(api):  # noqa: F811
    office(api)
    r = api.get("/stats/coverage", "city1", params={"area": "3701", "by": "county"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["rule_version"] == rules.RULE_VERSION and body["rule_status"] == "proposal"
    assert body["total"]["target"] == len(PHASE2["target"])
    assert {c["key"] for c in body["columns"]} >= {"target", "registration_rate", "storage_rate"}
    labels = {c["key"]: c["label"] for c in body["columns"]}
    assert labels["registration_rate"] == "全民参保登记率"  # the 规程's word (第三十一条)
    past = api.get("/stats/coverage", "city1", params={"as_of": phase1_day().isoformat()}).json()
    assert past["by"] == "county" and past["total"]["target"] == len(PHASE1["target"])

    county = api.get("/stats/coverage", "county1").json()  # default: own area, by township
    assert county["area"]["code"] == "370102" and county["by"] == "township"
    # Outside the caller's area is "not found", the convention for out-of-area reads.
    refused = api.get("/stats/coverage", "county1", params={"area": "3701"})
    assert refused.status_code == 404 and refused.json()["code"] == "registry.out_of_area"
    assert api.get("/stats/coverage", "platform9", params={"area": "370102"}).status_code == 404
    assert (
        api.get("/stats/persons", "county1", params={"area": "370103", "indicator": "target"}).status_code
        == 404
    )
    refused = api.get("/stats/coverage", "surveyor1")
    assert refused.status_code == 403 and refused.json()["code"] == "auth.role_not_allowed"
    assert api.get("/reports/coverage.xlsx", "county1", params={"area": "37"}).status_code == 404
    bad = api.get("/stats/coverage", "city1", params={"area": "37010", "as_of": "2999-01-01"})
    assert bad.status_code == 422
    assert {e["pointer"] for e in bad.json()["errors"]} == {"/area", "/as_of"}
    reasons = api.get("/stats/unenrolled-reasons", "city1", params={"as_of": phase1_day().isoformat()}).json()
    assert reasons["total"]["reasons"]["01"] == 1
    assert api.get("/stats/rules", "auditor1").json()["version"] == rules.RULE_VERSION


def test_drilldown_is_masked_per_role_and_audited(api):  # noqa: F811
    office(api)
    params = {"area": "370102", "indicator": "uninsured", "as_of": phase1_day().isoformat()}
    [person] = PHASE1["uninsured"]
    county = api.get("/stats/persons", "county1", params=params).json()
    assert [i["id_number"] for i in county["items"]] == [person] and county["total"] == 1
    assert county["items"][0]["uninsured_reason"] == "01"
    city = api.get("/stats/persons", "city1", params=params).json()
    assert city["items"][0]["id_number"] == person[:6] + "********" + person[-4:]
    listed = events(api, "person.list")
    assert listed[-1].actor_sub == "city1" and person in listed[-1].payload
    unknown = api.get("/stats/persons", "city1", params={"indicator": "nope"})
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["pointer"] == "/indicator"


def test_xlsx_and_csv_reports_add_up_and_are_audited(api):  # noqa: F811
    office(api)
    r = api.get("/reports/coverage.xlsx", "city1", params={"area": "3701", "by": "county", "details": "true"})
    assert r.status_code == 200, r.text
    assert "attachment" in r.headers["content-disposition"]
    wb = load_workbook(io.BytesIO(r.content))
    assert wb.sheetnames == ["统计表", "人员明细", "统计口径"]
    ws = wb["统计表"]
    assert ws["A1"].value == "全民参保登记情况统计表"
    assert rules.RULE_VERSION in ws["A2"].value and "济南市（3701）" in ws["A2"].value
    header = [c.value for c in ws[3]]
    data = [[c.value for c in row] for row in ws.iter_rows(min_row=4)]
    rows, total = data[:-1], data[-1]
    assert total[1] == "济南市"
    target = header.index("应登记人数")
    assert "全民参保登记率" in header and "参保登记率" not in header
    assert total[target] == len(PHASE2["target"]) == sum(row[target] for row in rows)
    for i, label in enumerate(header):
        if label.endswith("人数") and label != "登记库人数":
            assert total[i] == sum(row[i] for row in rows), label
    details = [[c.value for c in row] for row in wb["人员明细"].iter_rows(min_row=2)]
    assert len(details) == len(PHASE2["target"])
    assert all("********" in row[0] for row in details)  # city_admin sees masked numbers
    exported = events(api, "report.export")[-1]
    assert exported.actor_sub == "city1" and '"details_count":9' in exported.payload.replace(" ", "")

    r = api.get("/reports/unenrolled-reasons.csv", "county1", params={"as_of": phase1_day().isoformat()})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    lines = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert lines[0] == ["未参保原因统计表"] and lines[2][:3] == ["区划代码", "区划名称", "未参保人数"]
    assert lines[-1][2] == "1" and sum(int(line[2]) for line in lines[3:-1]) == 1
    assert len(events(api, "report.export")) == 2
    assert api.get("/reports/nope.xlsx", "city1").status_code == 404


def test_survey_progress_and_storage_rate_from_cases(api):  # noqa: F811
    stored, surveyed, rejected, waiting = (id_number(seq=s) for s in ("301", "303", "305", "307"))
    api.population(stored, surveyed, rejected, waiting)
    for person in (stored, surveyed, rejected, waiting):
        r = api.post(
            "/cases",
            "platform1",
            json={"process": "survey_registration", "person_id": person, "area": VILLAGE, "team_id": 1},
        )
        assert r.status_code == 201, r.text
    for person in (stored, surveyed, rejected):
        _complete(api, "surveyor1", _ready(api, "surveyor1", person), registration(person))
    for person in (stored, rejected):
        _complete(api, "platform1", _ready(api, "platform1", person), APPROVE)
    _complete(api, "county1", _ready(api, "county1", stored), APPROVE)
    _complete(api, "county1", _ready(api, "county1", rejected), REJECT)
    worker.run_due(api.db.sessions)  # 归档 of both outcomes (第三十二条)

    teams = api.get("/stats/survey-teams", "county1").json()
    [team] = teams["rows"]
    assert team["name"] == "解放路一组" and team["members"] == 2
    assert {
        k: team[k] for k in ("assigned", "collected", "stored", "rejected", "in_progress", "overdue")
    } == {
        "assigned": 4,
        "collected": 3,
        "stored": 1,
        "rejected": 1,
        "in_progress": 2,
        "overdue": 0,
    }
    assert team["completion_rate"] == 0.5
    table = api.get("/stats/coverage", "county1", params={"by": "village"}).json()
    row = next(r for r in table["rows"] if r["code"] == VILLAGE)
    assert (row["collected"], row["stored"], row["storage_rate"]) == (3, 1, round(1 / 3, 6))
    assert row["registered_case"] == 1  # the stored person, counted from the registry
    assert table["total"]["collected"] == 3
    wb = load_workbook(io.BytesIO(api.get("/reports/survey-teams.xlsx", "county1").content))
    values = [[c.value for c in row] for row in wb["统计表"].iter_rows(min_row=4)]
    assert values[0][1] == "解放路一组" and values[-1][1] == "合计"
