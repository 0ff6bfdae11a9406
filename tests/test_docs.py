"""The README documents every setting and every command (as Datasette and sqlite-utils test theirs)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import typer.main

from signpost.cli.main import app
from signpost.config.settings import Settings

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def command_paths(group, prefix: str = "signpost") -> list[str]:
    paths = []
    for name, command in group.commands.items():
        path = f"{prefix} {name}"
        paths.append(path)
        if hasattr(command, "commands"):
            paths.extend(command_paths(command, path))
    return paths


@pytest.mark.parametrize("name", sorted(Settings.model_fields))
def test_every_setting_is_documented(name):
    assert f"`SIGNPOST_{name.upper()}`" in README


@pytest.mark.parametrize("path", command_paths(typer.main.get_command(app)))
def test_every_command_is_documented_and_has_help(path):
    group = typer.main.get_command(app)
    command = group
    for part in path.split()[1:]:
        command = command.commands[part]
    assert command.help, f"{path} has no help text"
    if not hasattr(command, "commands"):
        parent, name = path.rsplit(" ", 1)
        # A row like `signpost sources disable ID` / `enable ID` documents two commands at once.
        documented = path in README or any(
            parent in line and re.search(rf"`{name}[ `]", line) for line in README.splitlines()
        )
        assert documented, f"{path} is not in the README"
