"""The whole week on the fixture web, stage by stage: time, throughput, peak memory, and the cost of a re-run."""

from __future__ import annotations

import resource
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import yaml
from sqlalchemy import Engine

from signpost.classify.embed_stage import embed_pending
from signpost.classify.embedding import Embedder
from signpost.classify.group_stage import group_pending
from signpost.classify.score_stage import score_community
from signpost.config.settings import Settings
from signpost.digests.drafting import draft_digest
from signpost.fixtureweb import REFERENCE_NOW, FixtureServer, build_fixture_web
from signpost.spiders.crawl import crawl_sources
from signpost.spiders.extraction_stage import extract_pending
from signpost.spiders.registry import add_source_from_url
from signpost.store.articles import count_articles
from signpost.store.communities import get_community, save_community
from signpost.store.db import open_migrated_store
from signpost.store.digests import load_items
from signpost.store.sources import list_sources

Progress = Callable[[str, int, int], None]


@dataclass
class StageFigures:
    """One stage of one run: how long, how much work, how fast."""

    seconds: float
    items: int
    unit: str

    @property
    def per_second(self) -> float:
        return self.items / self.seconds if self.seconds > 0 else 0.0


@dataclass
class RunFigures:
    stages: dict[str, StageFigures] = field(default_factory=dict)

    @property
    def seconds(self) -> float:
        return sum(stage.seconds for stage in self.stages.values())


def peak_memory_mib() -> dict[str, float]:
    """Peak resident memory of this process and of its largest child so far (Linux reports KiB)."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"this_process": round(own, 1), "largest_child": round(children, 1)}


def run_week(
    engine: Engine, settings: Settings, embedder: Embedder, community: str, progress: Progress | None = None
) -> RunFigures:
    """Every stage once, over every enabled source, calling what the weekly flow's tasks call."""
    figures = RunFigures()

    started = time.perf_counter()
    sources = list_sources(engine, enabled_only=True)
    crawl = crawl_sources(
        engine, settings, sources, progress=lambda done, total: progress and progress("crawl", done, total)
    )
    figures.stages["crawl"] = StageFigures(time.perf_counter() - started, crawl.pages_fetched, "pages")

    started = time.perf_counter()
    extract = extract_pending(
        engine, settings, progress=lambda done, total: progress and progress("extract", done, total)
    )
    figures.stages["extract"] = StageFigures(time.perf_counter() - started, extract.pages, "pages")

    started = time.perf_counter()
    embedded = embed_pending(
        engine, settings, embedder, progress=lambda done, total: progress and progress("embed", done, total)
    )
    figures.stages["embed"] = StageFigures(time.perf_counter() - started, embedded.articles, "articles")

    started = time.perf_counter()
    grouped = group_pending(engine, embedder.name)
    figures.stages["group"] = StageFigures(time.perf_counter() - started, grouped.articles, "articles")

    started = time.perf_counter()
    found = get_community(engine, community)
    scored = score_community(engine, found, embedder)
    figures.stages["score"] = StageFigures(time.perf_counter() - started, scored.articles, "articles")

    started = time.perf_counter()
    # The fixture web dates its articles in the weeks before REFERENCE_NOW: draft the week that ends there.
    digest_id = draft_digest(engine, found, REFERENCE_NOW - timedelta(days=7), REFERENCE_NOW, actor="bench")
    figures.stages["draft"] = StageFigures(time.perf_counter() - started, len(load_items(engine, digest_id)), "items")
    return figures


def bench_community(engine: Engine, corpus_dirs: list[Path]) -> str:
    """A community whose topics are those of the first corpus that declares some (topics.yaml)."""
    for folder in corpus_dirs:
        path = Path(folder) / "topics.yaml"
        if path.exists():
            spec = yaml.safe_load(path.read_text(encoding="utf-8"))
            topics = [
                {"slug": str(topic["id"]), "name": topic["name"], "description": topic.get("description", "")}
                for topic in spec.get("topics", [])
            ]
            save_community(engine, slug="bench", name=spec.get("name") or "Bench", topic_list=topics)
            return "bench"
    raise ValueError(f"none of {[str(folder) for folder in corpus_dirs]} has a topics.yaml")


def run_pipeline_bench(
    corpus_dirs: list[Path],
    sites: int,
    articles_per_site: int,
    settings: Settings | None = None,
    progress: Progress | None = None,
) -> dict:
    """Build a fixture web, add its sites as sources, run the week twice, and report both runs."""
    with tempfile.TemporaryDirectory(prefix="signpost-bench-") as folder:
        settings = settings or Settings(
            var_dir=Path(folder),
            allow_private_addresses=True,
            # The fixture web answers at once; politeness delays would measure sleep, not Signpost.
            autothrottle=False,
            concurrent_requests=64,
            concurrent_requests_per_domain=8,
            download_timeout=5,
            retry_times=0,
            max_pages_per_source=max(200, articles_per_site * 2),
        )
        engine = open_migrated_store(settings.store_url)
        community = bench_community(engine, corpus_dirs)
        # The bench's store is temporary, but the int8 model built from the shipped one is kept in the usual var/.
        embedder = Embedder(
            settings.embedding_model, settings.embedding_batch_size, max_tokens=settings.embedding_max_tokens
        )
        web = build_fixture_web(corpus_dirs, sites=sites, articles_per_site=articles_per_site, faults=False)
        with FixtureServer(web, port=0) as server:
            for site in web.sites:
                add_source_from_url(engine, settings, site.base_url, name=site.name)
            server.reset_counts()
            first = run_week(engine, settings, embedder, community, progress)
            first_requests = len(server.request_log)
            server.reset_counts()
            second = run_week(engine, settings, embedder, community, progress)
            second_requests = len(server.request_log)
        articles = count_articles(engine)
        engine.dispose()
    return {
        "sites": sites,
        "articles_per_site": articles_per_site,
        "true_articles": len(web.truth),
        "articles_stored": articles,
        "first_run": _run_record(first, first_requests),
        "second_run": _run_record(second, second_requests),
        "second_run_cost": round(second.seconds / first.seconds, 4) if first.seconds else 0.0,
        "peak_memory_mib": peak_memory_mib(),
    }


def _run_record(figures: RunFigures, requests: int) -> dict:
    return {
        "seconds": round(figures.seconds, 2),
        "http_requests": requests,
        "stages": {
            name: {
                "seconds": round(stage.seconds, 2),
                stage.unit: stage.items,
                f"{stage.unit}_per_second": round(stage.per_second, 1),
            }
            for name, stage in figures.stages.items()
        },
    }


def format_pipeline_table(result: dict) -> str:
    """The figures of both runs as a plain-text table."""
    lines = [
        f"pipeline on the fixture web: {result['sites']} sites x {result['articles_per_site']} articles "
        f"({result['true_articles']} true articles, {result['articles_stored']} stored)",
        f"{'stage':<10} {'1st s':>8} {'items':>7} {'items/s':>9} {'2nd s':>8} {'items':>7}",
    ]
    first, second = result["first_run"]["stages"], result["second_run"]["stages"]
    for name, stage in first.items():
        unit = next(key for key in stage if key not in ("seconds",) and not key.endswith("_per_second"))
        again = second.get(name, {})
        lines.append(
            f"{name:<10} {stage['seconds']:>8.2f} {stage[unit]:>7} {stage[f'{unit}_per_second']:>9.1f} "
            f"{again.get('seconds', 0):>8.2f} {again.get(unit, 0):>7}"
        )
    lines.append(
        f"total: {result['first_run']['seconds']:.1f} s, then {result['second_run']['seconds']:.1f} s "
        f"({result['second_run_cost']:.1%} of the first run); HTTP requests {result['first_run']['http_requests']} "
        f"then {result['second_run']['http_requests']}"
    )
    memory = result["peak_memory_mib"]
    lines.append(f"peak memory: {memory['this_process']} MiB here, {memory['largest_child']} MiB in the largest child")
    return "\n".join(lines)
