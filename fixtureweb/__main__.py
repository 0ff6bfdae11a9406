"""`python -m signpost.fixtureweb serve` publishes a fixture web until Ctrl-C; `truth` writes what it holds."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from signpost.fixtureweb.generator import DEFAULT_PORT, DEMO_CORPUS, build_fixture_web
from signpost.fixtureweb.records import FixtureWeb
from signpost.fixtureweb.server import FixtureServer


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m signpost.fixtureweb", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    for name, help_text in (("serve", "serve the sites until Ctrl-C"), ("truth", "write the truth as JSON lines")):
        command = commands.add_parser(name, help=help_text)
        command.add_argument("--corpus", type=Path, action="append", help="ranking-set folder (repeatable)")
        command.add_argument("--sites", type=int, default=10)
        command.add_argument("--articles-per-site", type=int, default=20)
        command.add_argument("--seed", type=int, default=7)
        command.add_argument("--no-faults", action="store_true", help="publish no fault pages")
        command.add_argument("--port", type=int, default=DEFAULT_PORT, help="0 picks a free port")
    serve = commands.choices["serve"]
    serve.add_argument("--slow-seconds", type=float, default=20.0)
    serve.add_argument("--oversized-bytes", type=int, default=50_000_000)
    commands.choices["truth"].add_argument("--out", type=Path, help="file to write (default: standard output)")
    return parser.parse_args(argv)


def build(arguments: argparse.Namespace) -> FixtureWeb:
    return build_fixture_web(
        arguments.corpus or [DEMO_CORPUS],
        sites=arguments.sites,
        articles_per_site=arguments.articles_per_site,
        seed=arguments.seed,
        faults=not arguments.no_faults,
        port=arguments.port,
    )


def describe(web: FixtureWeb) -> str:
    lines = []
    for site in web.sites:
        feed = (
            f"{site.feed_kind} {site.feed_url}{'' if site.feed_linked else ' (not linked)'}"
            if site.feed_url
            else "no feed"
        )
        lines.append(f"{site.base_url}  {site.name}  [{site.style}, {feed}]")
    lines += [f"fault {fault.kind}: {fault.url}" for fault in web.faults]
    lines.append(f"{len(web.truth)} true articles on {len(web.sites)} sites; Ctrl-C to stop")
    return "\n".join(lines)


def write_truth(web: FixtureWeb, out: Path | None) -> None:
    stream = out.open("w", encoding="utf-8") if out else sys.stdout
    try:
        for article in web.truth.values():
            record = {**article.__dict__, "published": article.published.isoformat()}
            stream.write(json.dumps(record, ensure_ascii=False) + "\n")
    finally:
        if out:
            stream.close()


def main(argv: list[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    web = build(arguments)
    if arguments.command == "truth":
        write_truth(web, arguments.out)
        return 0
    server = FixtureServer(
        web,
        port=arguments.port,
        slow_seconds=arguments.slow_seconds,
        oversized_bytes=arguments.oversized_bytes,
    )
    server.start()
    print(describe(web), flush=True)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
