"""Golden files: every fixture-web page style and twenty real pages extract exactly as recorded in tests/golden/."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from golden.regenerate import SHARED_DATA, dev_cases, dev_page_ids, expected, golden_path, style_cases

from signpost.fixtureweb.page_styles import STYLE_CLASSES

REGENERATE = "run .venv/bin/python tests/golden/regenerate.py if the change is intended"
# Where the shared data lies when it is not beside the repository (a worktree, say).
DEV_SET = Path(os.environ.get("SIGNPOST_SHARED_DATA", SHARED_DATA)) / "extraction-dev"


def _recorded(kind: str, name: str) -> dict:
    path = golden_path(kind, name)
    assert path.exists(), f"no golden file for {kind} {name!r} at {path}: {REGENERATE}"
    return json.loads(path.read_text(encoding="utf-8"))


def test_every_page_style_has_a_golden_file() -> None:
    recorded = {path.stem for path in golden_path("styles", "x").parent.glob("*.json")}
    assert recorded == set(STYLE_CLASSES), f"styles without a golden file: {set(STYLE_CLASSES) - recorded}"


@pytest.fixture(scope="module")
def styles() -> dict:
    return style_cases()


@pytest.mark.parametrize("style", sorted(STYLE_CLASSES))
def test_page_style_extracts_as_recorded(style: str, styles: dict) -> None:
    case = styles[style]
    assert expected(case) == _recorded("styles", style), f"{style} changed: {REGENERATE}"


def test_real_pages_extract_as_recorded() -> None:
    if not DEV_SET.exists():
        pytest.skip(f"extraction-dev is not at {DEV_SET}: the real pages' golden files were not checked")
    recorded = {path.stem for path in golden_path("extraction-dev", "x").parent.glob("*.json")}
    assert recorded == set(dev_page_ids(DEV_SET)), f"golden files do not match the chosen pages: {REGENERATE}"
    changed = [key for key, case in dev_cases(DEV_SET).items() if expected(case) != _recorded("extraction-dev", key)]
    assert not changed, f"pages whose extraction changed: {changed}: {REGENERATE}"
