"""The rooms of DESIGN.md import only what its table allows, and the install provides `signpost` alone."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ROOMS = ("config", "store", "spiders", "classify", "digests", "web", "flows", "cli", "bench", "fixtureweb")

# DESIGN.md's table. No room imports flows, web, bench or the CLI; only bench, the CLI's demo and the tests
# import fixtureweb. The CLI registers the `bench` commands, so it may import bench.
ALLOWED = {
    "config": set(),
    "store": {"config"},
    "spiders": {"config", "store"},
    "classify": {"config", "store"},
    "digests": {"config", "store", "classify"},
    "web": {"config", "store", "digests", "classify"},
    "flows": {"config", "store", "spiders", "classify", "digests"},
    "cli": {"config", "store", "spiders", "classify", "digests", "web", "flows", "bench"},
    "bench": {"config", "store", "spiders", "classify", "digests", "web", "flows", "cli", "fixtureweb"},
    "fixtureweb": set(),
}
FIXTUREWEB_ALSO = {ROOT / "cli" / "demo.py"}


def imported_rooms(path: Path) -> list[tuple[int, str]]:
    """(line, room) for every import of one of our rooms in a module, wherever in the module it stands."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        for name in names:
            parts = name.split(".")
            if parts[0] == "signpost" and len(parts) > 1 and parts[1] in ROOMS:
                found.append((node.lineno, parts[1]))
            elif parts[0] in ROOMS:
                found.append((node.lineno, f"top-level {parts[0]}"))
    return found


def room_violations(root: Path) -> list[str]:
    problems = []
    for room in ROOMS:
        for path in sorted((root / room).rglob("*.py")):
            for line, imported in imported_rooms(path):
                where = f"{path.relative_to(root)}:{line}"
                if imported.startswith("top-level"):
                    problems.append(f"{where}: imports {imported.split()[1]} outside the signpost namespace")
                    continue
                allowed = ALLOWED[room] | {room}
                if imported == "fixtureweb" and path in FIXTUREWEB_ALSO:
                    continue
                if imported not in allowed:
                    problems.append(f"{where}: the {room} room may not import {imported}")
    return problems


def test_every_room_imports_only_what_the_table_allows():
    assert room_violations(ROOT) == []


def test_the_check_catches_a_room_importing_what_it_may_not(tmp_path):
    for room in ROOMS:
        (tmp_path / room).mkdir()
    (tmp_path / "flows" / "pipeline_bench.py").write_text("from signpost.fixtureweb import build_fixture_web\n")
    (tmp_path / "store" / "late.py").write_text("def f():\n    from signpost.web.server import app\n")
    (tmp_path / "config" / "old.py").write_text("import store.db\n")
    assert room_violations(tmp_path) == [
        "config/old.py:1: imports store outside the signpost namespace",
        "store/late.py:2: the store room may not import web",
        "flows/pipeline_bench.py:1: the flows room may not import fixtureweb",
    ]


@pytest.mark.slow
def test_a_wheel_installs_signpost_alone_and_a_stray_config_module_shadows_nothing(tmp_path):
    # Built from a copy, so the build leaves nothing in the working tree.
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(".venv", ".git", "var", "build", "*.egg-info"))
    wheel_command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w"]
    subprocess.run([*wheel_command, str(tmp_path), str(source)], check=True)
    (wheel,) = tmp_path.glob("signpost-*.whl")
    top_level = {name.split("/")[0] for name in zipfile.ZipFile(wheel).namelist()}
    assert {name for name in top_level if not name.endswith(".dist-info")} == {"signpost"}

    venv = tmp_path / "venv"
    # The dependencies come from this environment; the wheel alone goes into the new one.
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], capture_output=True, text=True
    ).stdout.strip()
    # Every site-packages folder this interpreter sees (a .pth-linked one too), but not its editable finder.
    ours = [entry for entry in sys.path if entry.endswith("site-packages") and Path(entry).is_dir()]
    Path(site, "parent_env.pth").write_text("\n".join(ours) + "\n")
    subprocess.run([python, "-m", "pip", "install", "-q", "--no-deps", "--force-reinstall", str(wheel)], check=True)

    work = tmp_path / "work"
    work.mkdir()
    for name in ("config", "store", "web", "flows", "cli"):
        (work / f"{name}.py").write_text("raise SystemExit('a stray module was imported')\n")
    probe = (
        "import signpost.config.settings, signpost.store.db, signpost.web.server, signpost.flows.weekly, "
        "signpost.cli.main, signpost.digests.render; "
        "import signpost.store.db as db; print(db.__file__)"
    )
    environment = {**os.environ, "PYTHONPATH": ""}
    run = subprocess.run([python, "-c", probe], cwd=work, capture_output=True, text=True, env=environment)
    assert run.returncode == 0, run.stderr
    assert str(venv) in run.stdout
    templates = subprocess.run(
        [
            python,
            "-c",
            "import signpost.web, pathlib; print(sorted(p.name for p in "
            "(pathlib.Path(signpost.web.__file__).parent / 'templates').iterdir())[:1])",
        ],
        cwd=work,
        capture_output=True,
        text=True,
        env=environment,
    )
    assert templates.returncode == 0 and "html" in templates.stdout, templates.stderr
    signpost_cli = subprocess.run([venv / "bin" / "signpost", "--help"], cwd=work, capture_output=True, text=True)
    assert signpost_cli.returncode == 0, signpost_cli.stderr
