"""``signpost bench delivery``: a digest for N members rendered and handed to a local SMTP server, timed."""

from __future__ import annotations

import multiprocessing
import random
import smtplib
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine

from signpost.bench.postfix import PostfixSink, smtp_source_anchor
from signpost.config.settings import Settings
from signpost.digests.compose import compose_draft
from signpost.digests.delivery import queue_digest, send_digest
from signpost.digests.mail_sink import free_port
from signpost.digests.render import DigestRenderer, MailSettings, Recipient, load_content
from signpost.store.articles import save_article
from signpost.store.candidates import DraftCandidate
from signpost.store.communities import get_community, save_community
from signpost.store.db import open_migrated_store
from signpost.store.digests import approve_digest, save_draft
from signpost.store.members import MemberImport, import_members
from signpost.store.outbox import outbox_counts, outbox_rows
from signpost.store.pages import load_pages, pending_page_ids, save_pages
from signpost.store.records import ExtractedArticle, FetchedPage
from signpost.store.sources import save_source

BENCH_TOPICS = ("recruitment", "wellbeing", "fundraising", "digital", "safeguarding", "governance", "learning")
WORD_LIST = (
    "volunteers charity learning community trustees grant network practice managers training induction wellbeing "
    "donors impact evidence partnership toolkit mentoring retention inclusion outcomes funding strategy peer"
)
WORDS = WORD_LIST.split()


def synthetic_article(rng: random.Random, number: int, topic: str) -> ExtractedArticle:
    sentences = [" ".join(rng.choice(WORDS) for _ in range(rng.randint(9, 18))).capitalize() + "." for _ in range(8)]
    return ExtractedArticle(
        canonical_url=f"https://news{number % 5}.example.org/{topic}/{number}",
        title=f"{topic.capitalize()} in practice, part {number}",
        text="\n".join(" ".join(sentences[start : start + 2]) for start in range(0, 8, 2)),
        published_at=datetime(2026, 3, 2, tzinfo=UTC),
    )


def build_bench_store(engine: Engine, members: int, topics: int, items_per_topic: int, seed: int) -> int:
    """A community, a digest with ``items_per_topic`` items in each topic, and members following 1-3 topics."""
    rng = random.Random(seed)
    slugs = BENCH_TOPICS[:topics]
    save_community(
        engine,
        slug="bench",
        name="Volunteer managers network",
        items_per_topic=items_per_topic,
        topic_list=[{"slug": slug, "name": slug.capitalize()} for slug in slugs],
    )
    community = get_community(engine, "bench")
    articles = [synthetic_article(rng, number, slugs[number % topics]) for number in range(topics * items_per_topic)]
    # Stored as the extract stage leaves them: a fetched page each, then its article.
    site = "https://news.example.org"
    source_id = save_source(engine, url=f"{site}/feed", site_url=f"{site}/", name="Sector News", kind="feed")
    fetched_at = datetime.now(UTC)
    save_pages(engine, [FetchedPage(a.canonical_url, source_id, 200, fetched_at, body=b"-") for a in articles])
    pages = {page.url: page.id for page in load_pages(engine, pending_page_ids(engine))}
    ids = [
        save_article(
            engine, a, page_id=pages[a.canonical_url], source_id=source_id, page_url=a.canonical_url, extractor="bench"
        )[0]
        for a in articles
    ]
    candidates: dict[int, list[DraftCandidate]] = {}
    for number, (article, article_id) in enumerate(zip(articles, ids, strict=True)):
        topic = community.topics[number % topics]
        candidates.setdefault(topic.id, []).append(
            DraftCandidate(
                article_id,
                article.title,
                article.text,
                article.canonical_url,
                "Sector News",
                article.published_at,
                None,
                1.0 - number / 1000,
            )
        )
    period_start = datetime(2026, 3, 2, tzinfo=UTC)
    items = compose_draft(community.topics, candidates, per_topic=community.items_per_topic)
    digest_id = save_draft(engine, community.id, period_start, period_start + timedelta(days=7), items, actor="bench")
    approve_digest(engine, digest_id, "bench")
    topic_ids = [topic.id for topic in community.topics]
    rows = [
        MemberImport(f"member{number}@example.net", f"Member {number}", rng.sample(topic_ids, rng.randint(1, 3)))
        for number in range(members)
    ]
    import_members(engine, community.id, rows, confirmed=True)
    return digest_id


class _Sink:
    """aiosmtpd handler that accepts everything and counts it, Message-IDs included."""

    def __init__(self) -> None:
        self.messages = 0
        self.message_ids: list[bytes] = []
        self.bytes = 0

    async def handle_DATA(self, server, session, envelope) -> str:
        content = envelope.content
        start = content.find(b"Message-ID: ")
        self.message_ids.append(content[start : content.find(b"\r\n", start)] if start >= 0 else b"")
        self.messages += 1
        self.bytes += len(content)
        return "250 OK"


def _serve_sink(pipe, port: int) -> None:
    """Child process: one aiosmtpd server process on the shared loopback port; reports its counts when asked."""
    import asyncio

    from aiosmtpd.smtp import SMTP

    async def serve() -> None:
        sink = _Sink()
        loop = asyncio.get_running_loop()
        # SO_REUSEPORT: the kernel spreads connections over the sink processes, as one server with N workers.
        server = await loop.create_server(
            lambda: SMTP(sink, data_size_limit=10_000_000), host="127.0.0.1", port=port, reuse_port=True
        )
        pipe.send("ready")
        await loop.run_in_executor(None, pipe.recv)
        server.close()
        pipe.send({"messages": sink.messages, "message_ids": sink.message_ids, "bytes": sink.bytes})

    asyncio.run(serve())


class SmtpSink:
    """A local SMTP server of ``processes`` aiosmtpd processes sharing one port."""

    def __init__(self, processes: int = 1) -> None:
        self.port = free_port()
        context = multiprocessing.get_context("spawn")
        self.workers = []
        for _ in range(processes):
            parent, child = context.Pipe()
            process = context.Process(target=_serve_sink, args=(child, self.port), daemon=True)
            process.start()
            self.workers.append((process, parent))
        for _, parent in self.workers:
            parent.recv()

    def close(self) -> dict:
        """Stop every process; what they received, together."""
        messages, message_ids = 0, set()
        for process, parent in self.workers:
            parent.send("stop")
            report = parent.recv()
            messages += report["messages"]
            message_ids.update(report["message_ids"])
            process.join(timeout=10)
        return {"messages": messages, "distinct_message_ids": len(message_ids)}

    def kill(self) -> None:
        for process, _ in self.workers:
            if process.is_alive():
                process.kill()


def _bench_settings(folder: str, url: str, host: str, port: int, connections: int) -> Settings:
    return Settings(
        var_dir=Path(folder),
        database_url=url,
        secret_key="bench-secret",
        mail_from="Volunteer managers network <digest@bench.example.org>",
        smtp_host=host,
        smtp_port=port,
        smtp_security="none",
        smtp_connections=connections,
    )


def _server(smtp: str | None, postfix: bool, sink_processes: int):
    """The SMTP server to send into: ``host:port`` as given, Postfix's smtp-sink, or aiosmtpd processes."""
    if postfix:
        sink = PostfixSink()
        return sink, "127.0.0.1", sink.port, "Postfix smtp-sink"
    if smtp:
        host, _, port = smtp.rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"--smtp takes HOST:PORT, not {smtp!r}")
        return None, host, int(port), f"the SMTP server at {smtp}"
    sink = SmtpSink(sink_processes)
    return sink, "127.0.0.1", sink.port, f"{sink_processes} aiosmtpd process(es)"


def run_delivery_bench(
    members: int = 10000,
    *,
    topics: int = 6,
    items_per_topic: int = 5,
    connections: int = 1,
    processes: int = 1,
    sink_processes: int = 1,
    smtp: str | None = None,
    postfix: bool = False,
    store_url: str | None = None,
    seed: int = 7,
    progress: Callable[[int, int], None] | None = None,
) -> dict:
    """Render and send a digest to ``members`` members through an SMTP server; emails/s of each part.

    Into ``smtp`` (HOST:PORT) or Postfix's smtp-sink (``postfix``), Postfix's smtp-source then pushes as many
    messages of the same size over as many connections, in the same run: the anchor.
    """
    with tempfile.TemporaryDirectory(prefix="signpost-bench-") as folder:
        url = store_url or f"sqlite:///{Path(folder) / 'bench.db'}"
        engine = open_migrated_store(url)
        sink, host, port, server_name = _server(smtp, postfix, sink_processes)
        anchor: dict | None = None
        try:
            started = time.perf_counter()
            digest_id = build_bench_store(engine, members, topics, items_per_topic, seed)
            setup_seconds = time.perf_counter() - started
            settings = _bench_settings(folder, url, host, port, connections)
            started = time.perf_counter()
            queued = queue_digest(engine, settings, digest_id)
            queue_seconds = time.perf_counter() - started
            report = send_digest(engine, settings, digest_id, progress=progress, processes=processes)
            render_seconds, combinations, average_bytes, sample = _time_rendering(engine, settings, digest_id)
            if isinstance(sink, SmtpSink):
                received = sink.close()
            else:
                received = {"messages": sink.messages() if sink else None, "distinct_message_ids": None}
                anchor = smtp_source_anchor(f"{host}:{port}", queued, average_bytes, connections * processes)
        finally:
            if isinstance(sink, SmtpSink):
                sink.kill()
            elif sink is not None:
                sink.close()
        counts = outbox_counts(engine, digest_id)
        engine.dispose()
    ceiling = server_ceiling(sample, min(members, 2000), sink_processes, connections) if anchor is None else None
    send_rate = round(report.sent / report.seconds, 1) if report.seconds else None
    return {
        "members": members,
        "topics": topics,
        "items_per_topic": items_per_topic,
        "connections": connections,
        "processes": processes,
        "smtp_server": server_name,
        "smtp_server_processes": sink_processes,
        "database": url.split(":", 1)[0],
        "emails": queued,
        "topic_combinations": combinations,
        "average_email_bytes": average_bytes,
        "setup_seconds": round(setup_seconds, 2),
        "queue_seconds": round(queue_seconds, 2),
        "render_seconds": round(render_seconds, 2),
        "render_emails_per_second": round(queued / render_seconds, 1) if render_seconds else None,
        "send_seconds": round(report.seconds, 2),
        "send_emails_per_second": send_rate,
        "queue_and_send_seconds": round(queue_seconds + report.seconds, 2),
        "smtp_server_ceiling_per_second": ceiling,
        "smtp_source": anchor,
        "sent": counts["sent"],
        "failed": counts["failed"],
        "pending": counts["pending"] + counts["sending"],
        "received": received["messages"],
        "distinct_message_ids": received["distinct_message_ids"],
        "projected_80000_seconds": round(80000 * (queue_seconds / queued + report.seconds / max(report.sent, 1)), 1),
    }


def _time_rendering(engine: Engine, settings: Settings, digest_id: int) -> tuple[float, int, int, bytes]:
    """Seconds to render every queued email alone (no SMTP, no marks), topic combinations, mean bytes, a sample."""
    renderer = DigestRenderer(load_content(engine, digest_id), MailSettings.from_settings(settings))
    rows = outbox_rows(engine, digest_id)
    names = {row["member_id"]: row["email"].split("@")[0] for row in rows}
    started = time.perf_counter()
    total_bytes = 0
    sample = b""
    for row in rows:
        recipient = Recipient(
            row["member_id"],
            row["email"],
            names[row["member_id"]],
            frozenset(row["topic_ids"]),
            row["message_id"],
            row["created_at"],
        )
        sample = renderer.render_bytes(recipient) or b""
        total_bytes += len(sample)
    seconds = time.perf_counter() - started
    return seconds, renderer.combinations, total_bytes // max(len(rows), 1), sample


def server_ceiling(message: bytes, count: int, processes: int, connections: int) -> float:
    """Messages a second the same local SMTP server takes from bare smtplib, the same bytes every time: the anchor
    that says how much of the send rate the server itself allows."""
    sink = SmtpSink(processes)
    try:

        def blast(share: int) -> None:
            with smtplib.SMTP("127.0.0.1", sink.port) as smtp:
                for _ in range(share):
                    smtp.sendmail("bench@bench.example.org", ["member@example.net"], message)

        threads = [threading.Thread(target=blast, args=(count // connections,)) for _ in range(connections)]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        seconds = time.perf_counter() - started
        sink.close()
    finally:
        sink.kill()
    return round(connections * (count // connections) / seconds, 1)


def format_delivery_table(result: dict) -> str:
    lines = [
        f"members {result['members']}, emails {result['emails']} ({result['topic_combinations']} topic combinations, "
        f"{result['average_email_bytes']} bytes each), {result['processes']} process(es) with "
        f"{result['connections']} SMTP connection(s) each to "
        f"{result['smtp_server']}, {result['database']}",
        f"{'stage':<16} {'seconds':>8} {'emails/s':>10}",
        f"{'queue':<16} {result['queue_seconds']:>8} {'':>10}",
        f"{'render (alone)':<16} {result['render_seconds']:>8} {result['render_emails_per_second']:>10}",
        f"{'render and send':<16} {result['send_seconds']:>8} {result['send_emails_per_second']:>10}",
        f"sent {result['sent']}, failed {result['failed']}, left pending {result['pending']}; queue and send "
        f"{result['queue_and_send_seconds']} s; 80,000 projected: {result['projected_80000_seconds']} s",
    ]
    if result["received"] is not None:
        distinct = result["distinct_message_ids"]
        lines.append(
            f"received by the SMTP server: {result['received']}"
            + (f" ({distinct} distinct Message-IDs)" if distinct is not None else "")
        )
    anchor = result.get("smtp_source")
    if anchor and anchor.get("available"):
        lines.append(
            f"anchor, same run: {anchor['command']}: {anchor['messages']} in {anchor['seconds']} s, "
            f"{anchor['emails_per_second']} emails/s"
        )
    elif anchor is not None:
        lines.append("anchor: smtp-source not found (Debian: apt-get install postfix)")
    if result["smtp_server_ceiling_per_second"] is not None:
        lines.append(
            f"the same server takes {result['smtp_server_ceiling_per_second']} emails/s from bare smtplib (its ceiling)"
        )
    return "\n".join(lines)
