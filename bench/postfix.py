"""Postfix's ``smtp-sink`` as the benchmark's SMTP server and ``smtp-source`` as the anchor client (Debian: postfix)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from signpost.digests.mail_sink import free_port

SINK = "smtp-sink"
SOURCE = "smtp-source"
POSTFIX_DIRS = ("/usr/sbin", "/usr/lib/postfix/sbin")


def postfix_tool(name: str) -> str | None:
    """The path of a Postfix test tool, on PATH or where Debian puts it; None when Postfix is not installed."""
    found = shutil.which(name)
    if found:
        return found
    for folder in POSTFIX_DIRS:
        candidate = Path(folder) / name
        if candidate.exists():
            return str(candidate)
    return None


class PostfixSink:
    """``smtp-sink -c 127.0.0.1:PORT 256`` in a child process: accepts everything, counts messages, keeps nothing."""

    def __init__(self) -> None:
        binary = postfix_tool(SINK)
        if binary is None:
            raise RuntimeError("smtp-sink not found: install Postfix (Debian: apt-get install postfix)")
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.output = tempfile.TemporaryFile()  # noqa: SIM115 - closed in close(), it outlives __init__
        # smtp-sink refuses to run as root without a user to switch to.
        user = ["-u", "nobody"] if os.geteuid() == 0 else []
        self.process = subprocess.Popen(
            [binary, *user, "-c", self.address, "256"], stdout=self.output, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 10
        while not self._listening():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.close()
                raise RuntimeError(f"smtp-sink did not start on {self.address}: {self.log()[-500:]}")
            time.sleep(0.05)

    def _listening(self) -> bool:
        import socket

        with socket.socket() as probe:
            return probe.connect_ex(("127.0.0.1", self.port)) == 0

    def log(self) -> str:
        self.output.seek(0)
        return self.output.read().decode("utf-8", "replace")

    def messages(self) -> int:
        """Messages accepted so far, from the running counter ``-c`` prints (``mesg=N``)."""
        counts = re.findall(r"mesg=(\d+)", self.log())
        return int(counts[-1]) if counts else 0

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.output.close()


def smtp_source_anchor(address: str, messages: int, size: int, sessions: int) -> dict:
    """Postfix's own client pushing ``messages`` of ``size`` bytes over ``sessions`` reused connections: the
    ceiling of the client side on this machine and server."""
    binary = postfix_tool(SOURCE)
    if binary is None:
        return {"available": False}
    command = [binary, "-d", "-s", str(sessions), "-l", str(size), "-m", str(messages), "-f", "bench@example.org"]
    started = time.perf_counter()
    finished = subprocess.run([*command, "-t", "member@example.net", address], capture_output=True, timeout=3600)
    seconds = time.perf_counter() - started
    return {
        "available": True,
        "command": " ".join([SOURCE, *command[1:], "-t", "member@example.net", address]),
        "returncode": finished.returncode,
        "messages": messages,
        "seconds": round(seconds, 2),
        "emails_per_second": round(messages / seconds, 1) if seconds else None,
    }
