"""`canbao stats refresh` against the test database: full build first, then only changed persons."""

from __future__ import annotations

from typer.testing import CliRunner

from canbao.config import get_settings
from composition.cli import app
from registry.stats import build

from .helpers import phase1, phase2


def test_refresh_builds_then_follows_changes(db, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", db.url)
    get_settings.cache_clear()
    try:
        with db.sessions() as s, s.begin():
            phase1(s)
        runner = CliRunner()
        first = runner.invoke(app, ["stats", "refresh"])
        assert first.exit_code == 0 and "全部重建" in first.output and "11 人" in first.output
        assert "无变动" in runner.invoke(app, ["stats", "refresh"]).output
        with db.sessions() as s, s.begin():
            phase2(s)
        changed = runner.invoke(app, ["stats", "refresh"])
        assert "增量" in changed.output and "3 人" in changed.output  # D, B and I changed
        with db.sessions() as s:
            assert build.is_current(s)
    finally:
        get_settings.cache_clear()
