"""scripts/setup reinstalls only what changed: pip when pyproject.toml changed, npm ci and the bundling
when package-lock.json changed. Run on a copy of the project files with stand-ins for the venv's python
and npm that record their calls (the installs themselves are pip's and npm's business)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PYTHON = """#!/usr/bin/env bash
echo "python $*" >> "$CALLS"
if [ "$*" = "-m web.vendor" ]; then mkdir -p web/static/vendor; fi
if [[ "$*" == *"install -q -e"* ]]; then touch .venv/bin/canbao; chmod +x .venv/bin/canbao; fi
"""
NPM = """#!/usr/bin/env bash
echo "npm $*" >> "$CALLS"
mkdir -p node_modules
"""


def _project(tmp: Path) -> tuple[Path, dict[str, str]]:
    project = tmp / "project"
    (project / "scripts").mkdir(parents=True)
    shutil.copy(ROOT / "scripts" / "setup", project / "scripts" / "setup")
    for name in ("pyproject.toml", "package.json", "package-lock.json"):
        shutil.copy(ROOT / name, project / name)
    (project / ".venv" / "bin").mkdir(parents=True)
    python = project / ".venv" / "bin" / "python"
    python.write_text(PYTHON)
    python.chmod(0o755)
    tools = tmp / "bin"
    tools.mkdir()
    (tools / "npm").write_text(NPM)
    (tools / "npm").chmod(0o755)
    env = {**os.environ, "PATH": f"{tools}:{os.environ['PATH']}", "CALLS": str(tmp / "calls")}
    env.pop("CANBAO_SETUP_FORCE", None)
    return project, env


def _setup(project: Path, env: dict[str, str], calls: Path) -> list[str]:
    calls.write_text("")
    done = subprocess.run(
        [str(project / "scripts" / "setup")], cwd=project, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return (
        [line.split()[0] + " " + line.split()[1] for line in calls.read_text().splitlines()]
        + (["skip-python"] if "跳过 pip" in done.stdout else [])
        + (["skip-node"] if "跳过 npm ci" in done.stdout else [])
    )


def test_setup_reinstalls_only_what_changed(tmp_path):
    project, env = _project(tmp_path)
    calls = tmp_path / "calls"

    first = _setup(project, env, calls)
    assert "python -m" in first and "npm ci" in first and "skip-python" not in first

    assert _setup(project, env, calls) == ["skip-python", "skip-node"]

    with (project / "pyproject.toml").open("a") as f:
        f.write("\n# a new dependency\n")
    again = _setup(project, env, calls)
    assert "python -m" in again and "npm ci" not in again and "skip-node" in again

    with (project / "package-lock.json").open("a") as f:
        f.write("\n")
    again = _setup(project, env, calls)
    assert "npm ci" in again and "skip-python" in again

    shutil.rmtree(project / "node_modules")  # removed by hand: installed again though the lock is unchanged
    assert "npm ci" in _setup(project, env, calls)

    assert _setup(project, env, calls) == ["skip-python", "skip-node"]
    forced = _setup(project, {**env, "CANBAO_SETUP_FORCE": "1"}, calls)
    assert "npm ci" in forced and "skip-python" not in forced
