"""The packages call downward only (CONTRIBUTING.md, "Layers"): the import-linter contract in
pyproject.toml, checked over the real import graph."""

from importlinter import cli

from canbao.config import PROJECT_ROOT


def test_no_package_imports_a_package_above_it(monkeypatch):
    monkeypatch.chdir(PROJECT_ROOT)
    assert cli.lint_imports(config_filename="pyproject.toml", no_cache=True, no_logo=True) == 0
