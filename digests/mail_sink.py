"""A local SMTP server that writes every message it receives to a folder: the demo's and a developer's inbox."""

from __future__ import annotations

import re
import socket
import threading
from pathlib import Path
from types import TracebackType

from aiosmtpd.controller import Controller


class MailSink:
    """aiosmtpd on loopback; each message becomes ``NNNNN-recipient.eml`` in ``folder``, readable by any mail app."""

    def __init__(self, folder: Path, port: int = 0) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.count = 0
        self._lock = threading.Lock()
        # Numbering continues after what earlier runs left, so nothing is overwritten.
        self._next = 1 + max((int(path.name.split("-", 1)[0]) for path in self.folder.glob("*.eml")), default=0)
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server, session, envelope) -> str:
        with self._lock:
            for recipient in envelope.rcpt_tos:
                safe = re.sub(r"[^\w.@-]", "_", recipient)[:100]
                (self.folder / f"{self._next:05d}-{safe}.eml").write_bytes(envelope.original_content)
                self._next += 1
                self.count += 1
        return "250 2.0.0 written to the sink"

    def __enter__(self) -> MailSink:
        self._controller.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._controller.stop()


def free_port() -> int:
    """A loopback port nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
