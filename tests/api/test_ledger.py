"""The 个人信息汇总表 as the village's 统一登记台账 (第十九条): everyone surveyed in the period, stored or
not, with the survey's date, team and surveyors, then those on the survey list still to visit."""

from __future__ import annotations

import io

from openpyxl import load_workbook
from typer.testing import CliRunner

from canbao.config import get_settings
from composition.cli import app
from engine import worker

from ..engine.office import APPROVE, REJECT, VILLAGE, id_number, registration

PERIOD = {"from": "2026-11-01", "to": "2026-11-30"}
SURVEY = {
    "channel": "survey",
    "team": "JFL-01",
    "surveyors": [{"name": "李四", "card_no": "DC0001"}, {"name": "王五", "card_no": "DC0002"}],
    "signed": True,
}


def _surveyed(person: str, day: str) -> dict:
    return registration(person, survey={**SURVEY, "date": day})


def _rows(content: bytes) -> tuple[list[str], list[dict]]:
    ws = load_workbook(io.BytesIO(content)).active
    header = [c.value for c in ws[3]]
    rows = [dict(zip(header, (c.value for c in row), strict=True)) for row in ws.iter_rows(min_row=4)]
    return [str(ws.cell(2, i).value or "") for i in range(1, ws.max_column + 1)], rows


def test_the_summary_lists_everyone_surveyed_in_the_period_with_date_team_and_surveyors(
    api, tmp_path, monkeypatch
):
    stored, rejected, waiting, earlier, unvisited = (
        id_number(seq=s) for s in ("401", "403", "405", "407", "409")
    )
    cases = {p: api.start_survey(p) for p in (stored, rejected, waiting, earlier, unvisited)}
    assert api.post("/comparisons", "county1", json={"area": VILLAGE[:6]}).status_code == 201  # the list
    for person, day in (
        (stored, "2026-11-20"),
        (rejected, "2026-11-21"),
        (waiting, "2026-11-30"),
        (earlier, "2026-10-31"),
    ):
        api.complete("surveyor1", cases[person], _surveyed(person, day))
    for person in (stored, rejected, earlier):
        api.complete("platform1", cases[person], APPROVE)
    api.complete("county1", cases[stored], APPROVE)
    api.complete("county1", cases[earlier], APPROVE)
    api.complete("county1", cases[rejected], REJECT)
    assert worker.run_due(api.db.sessions) >= 2  # 归档 of the stored ones

    r = api.get(f"/survey-lists/{VILLAGE}/summary.xlsx", "platform1", params=PERIOD)
    assert r.status_code == 200, r.text
    heading, rows = _rows(r.content)
    assert "调查期间：2026-11-01 至 2026-11-30" in heading
    by_id = {row["社会保障号码"]: row for row in rows}
    assert [row["社会保障号码"] for row in rows] == [stored, rejected, waiting, unvisited]  # by survey date
    assert [row["序号"] for row in rows] == [1, 2, 3, 4]
    assert {k: by_id[stored][k] for k in ("调查日期", "调查小组", "调查员", "备注")} == {
        "调查日期": "2026-11-20",
        "调查小组": "解放路一组（JFL-01）",
        "调查员": "李四（DC0001）、王五（DC0002）",
        "备注": "已入库",
    }
    assert (
        by_id[rejected]["调查日期"] == "2026-11-21"
        and by_id[rejected]["调查员"] == "李四（DC0001）、王五（DC0002）"
    )
    assert by_id[rejected]["备注"] == f"不予登记：{REJECT['reason']}"
    assert by_id[waiting]["调查日期"] == "2026-11-30" and by_id[waiting]["备注"] == "办理中：基层平台初审"
    assert by_id[unvisited]["调查日期"] is None and by_id[unvisited]["备注"].startswith("待调查")
    assert earlier not in by_id  # surveyed before the period, and stored: off the survey list too

    # Without a period: every survey of the village, the earlier one included.
    _, everything = _rows(api.get(f"/survey-lists/{VILLAGE}/summary.xlsx", "platform1").content)
    assert [row["社会保障号码"] for row in everything] == [earlier, stored, rejected, waiting, unvisited]

    # The command line gives the same ledger.
    monkeypatch.setenv("DATABASE_URL", api.db.url)
    get_settings.cache_clear()
    try:
        out = tmp_path / "ledger.xlsx"
        args = ["survey", "summary", VILLAGE, str(out), "--from", PERIOD["from"], "--to", PERIOD["to"]]
        result = CliRunner().invoke(app, args)
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert _rows(out.read_bytes())[1] == rows

    exported = next(e for e in api.events("report.export") if e.object_type == "summary_xlsx")
    assert {k: exported.payload_json[k] for k in ("village", "from", "to", "persons")} == {
        "village": VILLAGE,
        "from": "2026-11-01",
        "to": "2026-11-30",
        "persons": 4,
    }


def test_a_period_that_ends_before_it_starts_is_refused(api):
    r = api.get(
        f"/survey-lists/{VILLAGE}/summary.xlsx",
        "platform1",
        params={"from": "2026-11-30", "to": "2026-11-01"},
    )
    assert r.status_code == 422 and [e["pointer"] for e in r.json()["errors"]] == ["/query/to"]
    r = api.get(f"/survey-lists/{VILLAGE}/summary.xlsx", "platform1", params={"from": "2026-13-01"})
    assert r.status_code == 422 and [e["pointer"] for e in r.json()["errors"]] == ["/query/from"]
