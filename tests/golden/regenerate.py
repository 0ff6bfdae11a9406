"""Golden files for extraction (fundus's habit): the expected article of every fixture-web page style and of
twenty real pages of ../shared/data/extraction-dev, as JSON; run this file to write them again after a change.

    .venv/bin/python tests/golden/regenerate.py [--shared ../shared/data]

The real pages are read where they lie, beside the repository, and never copied into it: only the expected JSON
is kept here.
"""

from __future__ import annotations

import argparse
import gzip
import json
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

from signpost.fixtureweb import DEMO_CORPUS, build_fixture_web
from signpost.fixtureweb.page_styles import STYLE_CLASSES
from signpost.fixtureweb.site_pages import SiteRenderer
from signpost.spiders.extract import extract_page
from signpost.store.records import ExtractedArticle

GOLDEN = Path(__file__).resolve().parent
SHARED_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
# Every run dates its pages as first seen at the same moment, so the dates do not depend on the day it runs.
DEV_FIRST_SEEN = datetime(2026, 4, 1, tzinfo=UTC)
DEV_PAGES = 20

Case = tuple[bytes, str, str | None, datetime]


def style_cases() -> dict[str, Case]:
    """One article page of each page style of the fixture web: (body, URL, encoding, first seen)."""
    web = build_fixture_web([DEMO_CORPUS], sites=len(STYLE_CLASSES), articles_per_site=2, faults=False)
    renderer = SiteRenderer(web)
    cases: dict[str, Case] = {}
    for site in web.sites:
        posting = web.postings[web.site_postings[site.index][0]]
        rendered = renderer.article(site, posting)
        url = web.posting_url(posting)
        cases.setdefault(site.style, (rendered.body.encode(rendered.encoding), url, rendered.encoding, web.now))
    return cases


def dev_page_ids(dataset: Path) -> list[str]:
    """Twenty pages spread evenly over the set, the same ones every time."""
    ids = sorted(json.loads((dataset / "ground-truth.json").read_text(encoding="utf-8")))
    step = max(1, len(ids) // DEV_PAGES)
    return ids[::step][:DEV_PAGES]


def dev_cases(dataset: Path) -> dict[str, Case]:
    truth = json.loads((dataset / "ground-truth.json").read_text(encoding="utf-8"))
    cases: dict[str, Case] = {}
    for key in dev_page_ids(dataset):
        body = gzip.decompress((dataset / "html" / f"{key}.html.gz").read_bytes())
        cases[key] = (body, truth[key].get("url") or "", None, DEV_FIRST_SEEN)
    return cases


def expected(case: Case) -> dict:
    """What extraction makes of a page, as the golden file keeps it."""
    body, url, encoding, first_seen = case
    result = extract_page(body, url, encoding=encoding, first_seen=first_seen)
    if not isinstance(result, ExtractedArticle):
        return {"skipped": result.reason}
    values = asdict(result)
    values["published_at"] = result.published_at.isoformat() if result.published_at else None
    return values


def golden_path(kind: str, name: str) -> Path:
    return GOLDEN / kind / f"{name}.json"


def write(kind: str, cases: dict[str, Case]) -> None:
    folder = GOLDEN / kind
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.json"):
        old.unlink()
    for name, case in cases.items():
        text = json.dumps(expected(case), ensure_ascii=False, indent=1, sort_keys=True) + "\n"
        golden_path(kind, name).write_text(text, encoding="utf-8")
        print(f"wrote {golden_path(kind, name).relative_to(GOLDEN.parents[1])}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=SHARED_DATA, help="The shared data folder beside the repo.")
    args = parser.parse_args()
    write("styles", style_cases())
    dataset = args.shared / "extraction-dev"
    if dataset.exists():
        write("extraction-dev", dev_cases(dataset))
    else:
        print(f"extraction-dev not found at {dataset}: its golden files were left as they are")


if __name__ == "__main__":
    main()
