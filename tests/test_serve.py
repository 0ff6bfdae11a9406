"""`signpost serve` for real: a Prefect server, the scheduled deployments and the web app, and Ctrl-C stops them all."""

from __future__ import annotations

import os
import signal
import smtplib
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from signpost.digests.mail_sink import free_port

pytestmark = pytest.mark.slow
SIGNPOST = str(Path(sys.executable).with_name("signpost"))
COMMUNITY = """\
communities:
  - slug: volunteering
    name: Volunteer managers network
    timezone: Europe/London
    schedule: "30 7 * * MON"
    topics:
      - {slug: recruiting, name: Recruiting volunteers, description: Finding and keeping volunteers.}
"""


def user_environment(tmp_path: Path) -> dict[str, str]:
    """What a user's shell would have: no SIGNPOST_* or PREFECT_* (PREFECT_API_URL above all) from the test run."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("SIGNPOST_", "PREFECT_"))}
    return env | {
        "SIGNPOST_VAR_DIR": str(tmp_path / "var"),
        "PREFECT_HOME": str(tmp_path / "prefect"),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "HF_HUB_OFFLINE": "1",
        "COLUMNS": "200",
    }


def prefect_server_pids(port: int) -> list[int]:
    """The processes of a `prefect server start --port PORT`, found by their command line."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0") if entry.name.isdigit() else []
        except OSError:  # gone meanwhile
            continue
        if argv[1:5] == [b"-m", b"prefect", b"server", b"start"] and str(port).encode() in argv:
            found.append(int(entry.name))
    return found


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def accepts_connections(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except OSError:
        return False
    return True


def default_sigint() -> None:
    # As for a terminal's foreground job: a test run started with `&` by a shell without job control would hand
    # down an ignored SIGINT, and Ctrl-C would then do nothing.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@dataclass
class Serving:
    process: subprocess.Popen
    log: Path

    def output(self) -> str:
        return self.log.read_text()


@contextmanager
def serving(tmp_path: Path, env: dict[str, str], web_port: int, prefect_port: int) -> Iterator[Serving]:
    """`signpost serve` in a session of its own, as a terminal runs a command; whatever is left is killed after."""
    log = tmp_path / "serve.log"
    with log.open("w") as output:
        process = subprocess.Popen(
            [SIGNPOST, "serve", "--port", str(web_port), "--prefect-port", str(prefect_port)],
            cwd=tmp_path,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=default_sigint,
        )
    try:
        yield Serving(process, log)
    finally:
        groups = [process.pid]  # serve's own, named by its pid since it leads a new session
        for pid in prefect_server_pids(prefect_port):
            with suppress(ProcessLookupError):
                groups.append(os.getpgid(pid))
        for pgid in groups:
            with suppress(ProcessLookupError):  # already gone, as it should be
                os.killpg(pgid, signal.SIGKILL)
        process.wait()


def wait_until(condition: Callable[[], object], seconds: float, what: str, serve: Serving) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert serve.process.poll() is None, (
            f"serve exited ({serve.process.returncode}) before {what}:\n{serve.output()}"
        )
        assert time.monotonic() < deadline, f"no {what} within {seconds} s:\n{serve.output()}"
        time.sleep(0.5)


def ctrl_c(serve: Serving) -> str:
    """SIGINT to the foreground process group, as a terminal sends it; returns serve's output once it has exited."""
    os.killpg(serve.process.pid, signal.SIGINT)
    try:
        serve.process.wait(60)
    except subprocess.TimeoutExpired:
        pytest.fail(f"serve still running 60 s after Ctrl-C:\n{serve.output()}")
    return serve.output()


def synced_store(tmp_path: Path) -> dict[str, str]:
    env = user_environment(tmp_path)
    config = tmp_path / "signpost.yaml"
    config.write_text(COMMUNITY)
    synced = subprocess.run([SIGNPOST, "sync", str(config)], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert synced.returncode == 0, synced.stdout + synced.stderr
    return env


def test_serve_runs_the_deployments_and_the_web_app_and_ctrl_c_stops_everything(tmp_path):
    env = synced_store(tmp_path)
    web_port, prefect_port, bounce_port = free_port(), free_port(), free_port()
    env.update(SIGNPOST_BOUNCE_LISTEN=f"127.0.0.1:{bounce_port}", SIGNPOST_BOUNCE_DOMAIN="bounces.example.org")
    web, api = f"http://127.0.0.1:{web_port}", f"http://127.0.0.1:{prefect_port}/api"
    with serving(tmp_path, env, web_port, prefect_port) as serve:
        # The first start of the Prefect server migrates its database.
        wait_until(lambda: answers(f"{web}/") and answers(f"{api}/health"), 180, "web app and Prefect API", serve)
        assert "Volunteer managers network" in httpx.get(f"{web}/").text
        server_pgids = {os.getpgid(pid) for pid in prefect_server_pids(prefect_port)}
        # A group of its own: the terminal's Ctrl-C does not reach the server, serve has to stop it.
        assert server_pgids and serve.process.pid not in server_pgids

        deployments: dict[str, dict] = {}

        def served() -> bool:
            found = httpx.post(f"{api}/deployments/filter", json={}, timeout=10).json()
            deployments.update((deployment["name"], deployment) for deployment in found)
            # READY once the runner has polled for the deployment's runs, i.e. it is being served.
            return {name for name, deployment in deployments.items() if deployment["status"] == "READY"} == {
                "weekly-volunteering",
                "publish-due",
            }

        wait_until(served, 60, "both deployments served", serve)
        # The bounce domain's listener runs beside them, and takes mail for that domain only.
        with smtplib.SMTP("127.0.0.1", bounce_port, timeout=10) as bounce_smtp:
            bounce_smtp.ehlo()
            assert bounce_smtp.mail("")[0] == 250
            assert bounce_smtp.rcpt("someone@elsewhere.example")[0] == 550
            assert bounce_smtp.rcpt("fbl@bounces.example.org")[0] == 250
        weekly, publish = deployments["weekly-volunteering"], deployments["publish-due"]
        assert weekly["parameters"] == {"community": "volunteering"}
        assert [(s["active"], s["schedule"]["cron"], s["schedule"]["timezone"]) for s in weekly["schedules"]] == [
            (True, "30 7 * * MON", "Europe/London")
        ]
        assert [(s["active"], s["schedule"]["interval"]) for s in publish["schedules"]] == [(True, 300)]
        assert not weekly["paused"] and not publish["paused"]
        # Two communities due at once must not both extract, embed or group the whole store.
        limit = httpx.get(f"{api}/concurrency_limits/tag/signpost-store-wide", timeout=10).json()
        assert limit["concurrency_limit"] == 1

        output = ctrl_c(serve)
        assert serve.process.returncode == 0, output
        assert "Stopped." in output
        assert not accepts_connections(prefect_port) and not accepts_connections(web_port)
        assert not accepts_connections(bounce_port)
        assert not any(group_alive(pgid) for pgid in server_pgids), "the Prefect server outlived serve"
        assert not group_alive(serve.process.pid), "a process of serve's group (a flow run?) outlived it"


def test_ctrl_c_while_the_prefect_server_starts_stops_it_too(tmp_path):
    env = user_environment(tmp_path)
    web_port, prefect_port = free_port(), free_port()
    with serving(tmp_path, env, web_port, prefect_port) as serve:
        wait_until(lambda: prefect_server_pids(prefect_port), 60, "a Prefect server process", serve)
        server_pgids = {os.getpgid(pid) for pid in prefect_server_pids(prefect_port)}
        # Still migrating its new database: serve is waiting for it, not yet serving.
        assert not answers(f"http://127.0.0.1:{prefect_port}/api/health")

        output = ctrl_c(serve)
        assert not any(group_alive(pgid) for pgid in server_pgids), f"the Prefect server outlived serve:\n{output}"
        assert serve.process.returncode == 0, output
        assert "Stopped." in output


def test_serve_stops_when_the_web_port_is_taken(tmp_path):
    env = user_environment(tmp_path)
    # An outside Prefect API that is never reached: serve gives up before it registers anything.
    env["PREFECT_API_URL"] = f"http://127.0.0.1:{free_port()}/api"
    with socket.create_server(("127.0.0.1", 0)) as taken:
        web_port = taken.getsockname()[1]
        with serving(tmp_path, env, web_port, free_port()) as serve:
            try:
                serve.process.wait(60)
            except subprocess.TimeoutExpired:
                pytest.fail(f"serve went on without its web app:\n{serve.output()}")
            output = serve.output()
            assert serve.process.returncode == 1, output
            assert f"could not start on 127.0.0.1:{web_port}" in output
