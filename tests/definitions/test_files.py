"""`canbao definitions export DIR` and `import DIR`: processes kept as files in version control."""

import shutil

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from canbao.config import PROJECT_ROOT, get_settings
from composition.cli import app
from engine.models import ProcessDefinition

from .variants import FIXTURES, with_precheck


@pytest.fixture
def cli(office, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", office.db.url)
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def _versions(office) -> dict[str, int]:
    with office.db.sessions() as s:
        rows = s.execute(
            select(ProcessDefinition.key, func.max(ProcessDefinition.version)).group_by(ProcessDefinition.key)
        ).all()
    return dict(rows)


def test_export_then_import_round_trips_without_new_versions(cli, office, tmp_path):
    shutil.copytree(FIXTURES / "dmn", tmp_path / "with_dmn")
    assert cli.invoke(app, ["definitions", "import", str(tmp_path / "with_dmn")]).exit_code == 0
    before = _versions(office)

    result = cli.invoke(app, ["definitions", "export", str(tmp_path / "out")])

    assert result.exit_code == 0, result.output
    exported = sorted(p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*.*"))
    assert exported == [
        "change_approval.bpmn",
        "counter_collection.bpmn",
        "id_correction.bpmn",
        "prioritised_review.bpmn",
        "prioritised_review/review_priority.dmn",
        "self_service_update.bpmn",
        "survey_registration.bpmn",
    ]
    assert (tmp_path / "out" / "survey_registration.bpmn").read_bytes() == (
        PROJECT_ROOT / "bpmn" / "survey_registration.bpmn"
    ).read_bytes()
    again = cli.invoke(app, ["definitions", "import", str(tmp_path / "out")])
    assert again.exit_code == 0, again.output
    assert again.output.count("未变化") == 6 and _versions(office) == before


def test_an_edited_file_becomes_a_new_version_and_a_bad_one_stops_the_whole_import(cli, office, tmp_path):
    cli.invoke(app, ["definitions", "export", str(tmp_path), "--key", "survey_registration"])
    (tmp_path / "survey_registration.bpmn").write_text(with_precheck(), encoding="utf-8")

    result = cli.invoke(app, ["definitions", "import", str(tmp_path), "--comment", "增加材料预审"])

    assert result.exit_code == 0, result.output
    assert "survey_registration v2 已部署" in result.output
    shutil.copy(FIXTURES / "camunda_modeler.bpmn", tmp_path / "camunda_modeler.bpmn")
    (tmp_path / "survey_registration.bpmn").write_text(
        with_precheck().replace("材料预审", "材料初核"), encoding="utf-8"
    )
    refused = cli.invoke(app, ["definitions", "import", str(tmp_path)])
    assert refused.exit_code == 1
    assert "camunda_modeler.bpmn：服务任务“写入登记库”没有指定操作" in refused.output
    assert _versions(office)["survey_registration"] == 2
