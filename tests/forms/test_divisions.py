"""The division table and its import (PostgreSQL and SQLite), and the in-memory index validation uses."""

import csv
import shutil
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

import forms
from canbao.actors import SYSTEM
from canbao.audit.models import AuditEvent
from canbao.config import get_settings
from canbao.errors import Invalid
from composition.cli import app
from forms import divisions
from forms.models import Division

from .helpers import at, errors, reg

SHIPPED = divisions.DATA_DIR
FILES = ["provinces.csv", "cities.csv", "areas.csv", "streets.csv", "villages_jinan_dongcheng.csv"]


def write_subset(target: Path, keep, *, rename=None, drop=(), add=()) -> Path:
    """The shipped CSVs restricted to codes for which keep(code) holds, with edits."""
    target.mkdir(parents=True, exist_ok=True)
    rename = rename or {}
    for name in FILES:
        with (SHIPPED / name).open(encoding="utf-8", newline="") as src:
            reader = csv.DictReader(src)
            rows = [r for r in reader if keep(r["code"]) and r["code"] not in drop]
            fields = reader.fieldnames
        for r in rows:
            r["name"] = rename.get(r["code"], r["name"])
        rows += [r for r in add if set(r) == set(fields) and len(r["code"]) == len(rows[0]["code"])]
        with (target / name).open("w", encoding="utf-8", newline="") as out:
            writer = csv.DictWriter(out, fieldnames=fields)
            writer.writeheader()
            writer.writerows(rows)
    return target


def jinan_lixia(code: str) -> bool:
    """山东省 / 济南市 / 历下区 and everything under it."""
    return code in ("37", "3701") or code.startswith("370102")


def count(session) -> int:
    return session.scalar(select(func.count()).select_from(Division))


# -- the index ---------------------------------------------------------------------------------------------


def test_the_shipped_index_knows_every_level():
    idx = divisions.index()
    assert idx.level("37") == "province" and idx.level("3701") == "city" and idx.level("370102") == "county"
    assert idx.level("370102001") == "township" and idx.level("370102001002") == "village"
    assert idx.name("370102001002") == "解放桥社区居民委员会"
    assert idx.path("370102001002") == "山东省济南市历下区解放路街道解放桥社区居民委员会"
    assert idx.parent("370102001002") == "370102001"
    assert idx.children("370102")[:2] == ["370102001", "370102002"]
    assert len(idx.children(None)) == 31
    assert "110101" in idx.village_coverage and "370102" in idx.village_coverage
    assert "110105" not in idx.village_coverage


def test_index_check():
    idx = divisions.index()
    assert idx.check("370102001002", "village") is None
    assert idx.check("370102001999", "village")[0] == "division.unknown"
    assert idx.check("370102001000", "village")[0] == "division.level"
    assert idx.check("370100", "county", ("province", "city")) is None
    assert idx.check("370100", "county") is not None  # a city only where the field accepts one
    assert idx.check("370000", "county", ("city",))[0] == "division.unknown"


# -- reading the CSVs --------------------------------------------------------------------------------------


def test_bad_csv_rows_are_all_named_and_nothing_is_read(tmp_path):
    (tmp_path / "provinces.csv").write_text('code,name\n37,"山东省"\n3,"坏"\n37,"重复"\n', encoding="utf-8")
    (tmp_path / "cities.csv").write_text(
        'code,name,provinceCode\n3801,"错上级",37\n3701,"",37\n', encoding="utf-8"
    )
    with pytest.raises(Invalid) as caught:
        divisions.read_dir(tmp_path)
    assert {(e.pointer, e.code) for e in caught.value.errors} == {
        ("/provinces.csv/3", "divisions.code"),
        ("/provinces.csv/4", "divisions.duplicate"),
        ("/cities.csv/2", "divisions.parent"),
        ("/cities.csv/3", "divisions.name"),
    }


def test_a_directory_without_division_files_is_refused(tmp_path):
    with pytest.raises(Invalid) as caught:
        divisions.read_dir(tmp_path)
    assert caught.value.errors[0].code == "divisions.no_files"


# -- the table ---------------------------------------------------------------------------------------------


def test_import_get_children_and_reimport(any_db, tmp_path):
    src = write_subset(tmp_path / "v1", jinan_lixia)
    with any_db.sessions() as s, s.begin():
        result = divisions.import_dir(s, src, actor=SYSTEM, valid_from=date(2023, 6, 30))
    expected = 2 + sum(1 for c in divisions.index().names if c.startswith("370102"))
    assert (result.inserted, result.updated, result.closed) == (expected, 0, 0)
    with any_db.sessions() as s:
        assert count(s) == expected
        village = divisions.get(s, "370102001002")
        assert (village.name, village.level, village.parent) == (
            "解放桥社区居民委员会",
            "village",
            "370102001",
        )
        assert village.valid_from == date(2023, 6, 30) and village.valid_to is None
        assert [d.code for d in divisions.children(s, "370102")][:3] == [
            "370102001",
            "370102002",
            "370102003",
        ]
        assert [d.code for d in divisions.children(s, None)] == ["37"]
        assert divisions.get(s, "110101") is None
        events = s.scalars(select(AuditEvent).where(AuditEvent.action == "division.import")).all()
        assert len(events) == 1 and f'"inserted":{expected}' in events[0].payload
    with any_db.sessions() as s, s.begin():
        again = divisions.import_dir(s, src, actor=SYSTEM, valid_from=date(2024, 1, 1))
    assert (again.inserted, again.updated, again.reopened, again.closed, again.unchanged) == (
        0,
        0,
        0,
        0,
        expected,
    )


def test_renamed_abolished_new_and_returning_codes(any_db, tmp_path):
    with any_db.sessions() as s, s.begin():
        divisions.import_dir(
            s, write_subset(tmp_path / "v1", jinan_lixia), actor=SYSTEM, valid_from=date(2023, 6, 30)
        )
    new_village = {
        "code": "370102001099",
        "name": "新建社区居民委员会",
        "streetCode": "370102001",
        "provinceCode": "37",
        "cityCode": "3701",
        "areaCode": "370102",
    }
    v2 = write_subset(
        tmp_path / "v2",
        jinan_lixia,
        rename={"370102001": "解放路街道（更名）"},
        drop={"370102001002"},
        add=[new_village],
    )
    with any_db.sessions() as s, s.begin():
        result = divisions.import_dir(s, v2, actor=SYSTEM, valid_from=date(2024, 6, 30))
    assert (result.inserted, result.updated, result.closed, result.reopened) == (1, 1, 1, 0)
    with any_db.sessions() as s:
        assert divisions.get(s, "370102001").name == "解放路街道（更名）"
        gone = divisions.get(s, "370102001002")
        assert gone.valid_to == date(2024, 6, 30) and not gone.current
        current = [d.code for d in divisions.children(s, "370102001")]
        assert "370102001002" not in current and "370102001099" in current
        assert "370102001002" in [d.code for d in divisions.children(s, "370102001", as_of=date(2024, 1, 1))]
        # validation against the database's codes
        idx = divisions.index_from_session(s)
        assert idx.check("370102001099", "village") is None
        assert idx.check("370102001002", "village")[0] == "division.unknown"
    with any_db.sessions() as s, s.begin():
        back = divisions.import_dir(
            s, write_subset(tmp_path / "v3", jinan_lixia), actor=SYSTEM, valid_from=date(2025, 1, 1)
        )
    assert (back.reopened, back.closed) == (1, 1)  # 370102001002 returns, 370102001099 goes


def test_validation_can_use_the_database_index(any_db, tmp_path):
    with any_db.sessions() as s, s.begin():
        divisions.import_dir(
            s, write_subset(tmp_path / "v1", jinan_lixia), actor=SYSTEM, valid_from=date(2023, 6, 30)
        )
    with any_db.sessions() as s:
        divisions.use(divisions.index_from_session(s))
    try:
        assert forms.validate("registration", reg()) == []
        assert errors("registration", at(reg(), "/hukou/division", "110101001001")) == {
            ("/hukou/division", "division.unknown")
        }
    finally:
        divisions.use(None)
    assert forms.validate("registration", at(reg(), "/hukou/division", "110101001001")) == []


def test_a_code_whose_parent_is_nowhere_is_refused_before_writing(any_db, tmp_path):
    src = write_subset(
        tmp_path / "v1", lambda code: code.startswith("370102") and len(code) >= 9
    )  # no county
    with any_db.sessions() as s, s.begin(), pytest.raises(Invalid) as caught:
        divisions.import_dir(s, src, actor=SYSTEM)
    assert {e.code for e in caught.value.errors} == {"divisions.parent_unknown"}
    with any_db.sessions() as s:
        assert count(s) == 0


def test_the_whole_shipped_table_imports_on_postgresql(db):
    with db.sessions() as s, s.begin():
        result = divisions.import_dir(s, SHIPPED, actor=SYSTEM)
    assert result.inserted == len(divisions.index()) == 31 + 342 + 2978 + 41352 + 5927
    assert result.valid_from == date(2023, 6, 30)  # from meta.json
    with db.sessions() as s:
        assert len(divisions.children(s, "370102")) == len(divisions.index().children("370102")) == 13
        assert divisions.index_from_session(s).names == divisions.index().names


def test_the_cli_imports_a_directory(any_db, tmp_path, monkeypatch):
    src = write_subset(tmp_path / "v1", jinan_lixia)
    shutil.copy(SHIPPED / "meta.json", src / "meta.json")
    monkeypatch.setenv("DATABASE_URL", any_db.url)
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        done = runner.invoke(app, ["divisions", "import", str(src)])
        assert done.exit_code == 0, done.output
        assert "新增" in done.output and "2023-06-30" in done.output
        shown = runner.invoke(app, ["divisions", "show", "370102"])
        assert shown.exit_code == 0 and "历下区" in shown.output and "370102001" in shown.output
        bad = runner.invoke(app, ["divisions", "import", str(tmp_path / "empty")])
        assert bad.exit_code == 1
    finally:
        get_settings.cache_clear()
    with any_db.sessions() as s:
        assert divisions.get(s, "370102001002") is not None
