"""``signpost weekly``, ``web`` and ``serve``: run a week now, serve the web app, or run everything on a schedule."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from typing import Annotated

import httpx
import typer

from signpost.cli.context import console, errors, settings_and_store
from signpost.config.settings import Settings

PREFECT_PORT = 4200


def web_hooks(settings=None):
    """What the web app may not import itself (DESIGN): fetching a page or a document, discovering a site's feeds,
    and starting the publishing flow of a digest sent now."""
    from signpost.cli.digests import start_publish_process
    from signpost.config.settings import load_settings
    from signpost.spiders.registry import add_source_from_url
    from signpost.spiders.single_page import extract_file_or_url
    from signpost.web.hooks import WebHooks

    var_dir = (settings or load_settings()).var_dir
    return WebHooks(
        extract_url=extract_file_or_url,
        add_source=lambda engine, settings, url, communities: add_source_from_url(
            engine, settings, url, communities=communities
        )[0],
        start_publish=lambda digest_id: start_publish_process(digest_id, var_dir),
        fetch_url=fetch_small_document,
    )


def fetch_small_document(settings, url: str) -> bytes:
    """GET a small document (64 KB at most, 10 s, no redirect) through spiders' one fetch for untrusted URLs."""
    from signpost.spiders.fetch import FetchError, FetchRules, check_url, fetch_url
    from signpost.spiders.urls import UnsafeURLError

    rules = FetchRules.from_settings(
        settings, deadline=min(settings.download_timeout, 10.0), max_bytes=65536, max_redirects=0
    )
    try:
        result = fetch_url(check_url(url, rules), rules)
    except (FetchError, UnsafeURLError) as error:
        raise ValueError(str(error)) from error
    if result.status != 200:
        raise ValueError(f"{url} answered {result.status}")
    return result.body


def weekly(
    community: Annotated[str | None, typer.Option(help="Only this community (default: every one).")] = None,
) -> None:
    """Run the weekly flow now: crawl, extract, classify and draft each community's digest, then tell its curators."""
    from rich.markdown import Markdown

    from signpost.flows.weekly import run_report_markdown, weekly_flow
    from signpost.store.communities import list_communities

    settings, engine = settings_and_store()
    slugs = [community] if community else [found.slug for found in list_communities(engine)]
    if not slugs:
        errors.print("[red]No communities yet:[/red] add one with `signpost sync FILE.yaml`.")
        raise typer.Exit(1)
    for slug in slugs:
        report = weekly_flow(slug)
        console.print(Markdown(run_report_markdown(report)))
        draft = report["draft"]
        console.print(
            f"{slug}: digest {draft['digest_id']} drafted with {draft['items']} items "
            f"({', '.join(f'{topic} {count}' for topic, count in draft['per_topic'].items())}); review it at "
            f"{settings.public_url.rstrip('/')}/review/digests/{draft['digest_id']}"
        )


def web(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
) -> None:
    """Serve the web app: curators' review, admin pages, members' pages, the archive and Atom feeds."""
    from signpost.web.server import serve

    settings, _ = settings_and_store()
    serve(settings, host, port, hooks=web_hooks(settings))


def start_prefect_server(port: int) -> subprocess.Popen:
    """A Prefect server (SQLite, under PREFECT_HOME) in a child process; returns once its API answers."""
    process = subprocess.Popen(
        [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        # Its own process group: the server runs uvicorn in a child, and stopping must reach that too.
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"the Prefect server stopped at start (exit {process.returncode})")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=2).status_code == 200:
                    return process
            except httpx.HTTPError:
                pass
            time.sleep(1)
        raise RuntimeError(f"the Prefect server did not answer on port {port} within 180 s")
    except BaseException:
        # Ctrl-C while the first start migrates its database, too: in a session of its own, the server does
        # not get the terminal's SIGINT, so nothing else would ever stop it.
        stop_prefect_server(process)
        raise


def stop_prefect_server(process: subprocess.Popen) -> None:
    """Stop the server's whole process group, forcibly if it takes more than 30 s."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    except ProcessLookupError:
        process.wait()


def start_bounce_listener(settings, engine):
    """The bounce listener of SIGNPOST_BOUNCE_LISTEN, started; None when the setting is empty."""
    from signpost.digests.bounce_listener import BounceListener, listen_address

    if not settings.bounce_listen:
        return None
    try:
        host, port = listen_address(settings.bounce_listen)
        listener = BounceListener(engine, settings, host, port, settings.bounce_protocol).start()
    except (ValueError, OSError) as error:
        errors.print(f"[red]The bounce listener could not start on {settings.bounce_listen}:[/red] {error}")
        raise typer.Exit(1) from error
    console.print(f"Bounces for {settings.bounce_domain} taken by {settings.bounce_protocol} on {host}:{port}")
    return listener


@contextmanager
def running_web_app(settings: Settings, host: str, port: int, **options):
    """The web app (with page fetching, discovery and sending) in a thread, once it answers; stopped on the way out.

    Its own signal handlers stay off: Ctrl-C belongs to the caller (Prefect's runner, or the demo's main thread).
    """
    import uvicorn

    from signpost.web.app import create_app

    app = create_app(settings, hooks=web_hooks(settings))
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, **options))
    server.install_signal_handlers = lambda: None
    thread = threading.Thread(target=server.run, name="web", daemon=True)
    thread.start()
    # uvicorn gives up by ending its thread (a port already taken, say): nobody may go on without the app.
    while not server.started and thread.is_alive():
        time.sleep(0.1)
    if not server.started:
        errors.print(f"[red]The web app could not start on {host}:{port}[/red] (see the error above).")
        raise typer.Exit(1)
    try:
        yield server
    finally:
        server.should_exit = True
        thread.join(10)


def serve(
    host: Annotated[str, typer.Option(help="Address of the web app.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port of the web app.")] = 8000,
    prefect_port: Annotated[int, typer.Option(help="Port of the Prefect server started here.")] = PREFECT_PORT,
) -> None:
    """Everything a small organisation needs: a Prefect server (or PREFECT_API_URL's), the scheduled weekly and
    publishing deployments with their runner, the web app, and the bounce listener (SIGNPOST_BOUNCE_LISTEN).
    Ctrl-C stops it all."""

    settings, engine = settings_and_store(migrate=True)
    if os.environ.get("PREFECT_API_URL"):
        prefect_server = None
    else:
        console.print(f"Starting a Prefect server on 127.0.0.1:{prefect_port} (home {os.environ['PREFECT_HOME']})")
        try:
            prefect_server = start_prefect_server(prefect_port)
        except RuntimeError as error:
            errors.print(f"[red]{error}[/red]")
            raise typer.Exit(1) from error
        except KeyboardInterrupt:
            console.print("Stopped.")
            return
        os.environ["PREFECT_API_URL"] = f"http://127.0.0.1:{prefect_port}/api"
    bounces = None
    # Everything from here on inside the try: a Ctrl-C or an error while the flows are imported must still stop
    # the Prefect server started above.
    try:
        from prefect import serve as prefect_serve

        from signpost.flows.deployments import deployments, ensure_stage_limits

        # The web app runs beside the deployments' runner, which keeps Ctrl-C.
        with running_web_app(settings, host, port):
            console.print(f"Web app on http://{host}:{port}/  -  Prefect UI on {os.environ['PREFECT_API_URL'][:-4]}")
            bounces = start_bounce_listener(settings, engine)
            ensure_stage_limits()
            # Schedules stay on while Signpost is stopped: a week missed meanwhile runs, late, at the next start.
            prefect_serve(*deployments(engine), limit=2, pause_on_shutdown=False)
    except KeyboardInterrupt:
        pass
    finally:
        if bounces is not None:
            bounces.stop()
        if prefect_server is not None:
            stop_prefect_server(prefect_server)
        console.print("Stopped.")


def deploy(
    pool: Annotated[str, typer.Option(help="Work pool whose workers run the flows (made if missing).")],
    pool_type: Annotated[str, typer.Option(help="Type of a pool made here: process, docker, kubernetes.")] = "process",
) -> None:
    """Register the weekly and publishing deployments with a work pool on PREFECT_API_URL's server, for workers on
    other machines (`prefect worker start --pool POOL`) to run, instead of `serve`'s own runner."""
    from signpost.flows.deployments import deploy_to_pool

    if not os.environ.get("PREFECT_API_URL"):
        errors.print("[red]PREFECT_API_URL is not set:[/red] workers on other machines need a Prefect server to share.")
        raise typer.Exit(1)
    _, engine = settings_and_store(migrate=True)
    for name in deploy_to_pool(engine, pool, pool_type):
        console.print(f"{name} -> work pool {pool}")
