"""Every command's help is readable in an 80-column terminal: nothing cut off with "…"."""

from __future__ import annotations

import typer
from typer.testing import CliRunner

from composition.cli import app


def _commands(group, path: list[str]):
    for name, command in group.commands.items():
        yield [*path, name]
        if hasattr(command, "commands"):  # a group of sub-commands
            yield from _commands(command, [*path, name])


def test_no_help_text_is_cut_at_80_columns():
    root = typer.main.get_command(app)
    runner = CliRunner()
    paths = [[], *_commands(root, [])]
    assert len(paths) > 30
    for path in paths:
        shown = runner.invoke(app, [*path, "--help"], terminal_width=80)
        assert shown.exit_code == 0, (path, shown.output)
        assert "…" not in shown.output, (path, shown.output)
