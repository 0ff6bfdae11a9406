"""The bounce domain's mail server (aiosmtpd, SMTP or LMTP): takes DSNs and complaints, records them, answers.

Point the bounce domain's MX (or a relay's transport map, ``bounces.example.org smtp:[signpost-host]:2525``) at
it. A VERP address with a bad signature is refused at RCPT; a message that cannot be recorded (the store is
down) is answered 451, so the sending server keeps it and tries again: nothing is lost.
"""

from __future__ import annotations

import asyncio
import logging
from types import TracebackType

from aiosmtpd.controller import Controller
from aiosmtpd.lmtp import LMTP
from sqlalchemy import Engine

from signpost.config.settings import Settings
from signpost.digests.bounces import take_message
from signpost.digests.verp import LOCAL_PREFIX, read_verp

log = logging.getLogger(__name__)
MAX_MESSAGE_BYTES = 10 * 1024 * 1024


class BounceHandler:
    """aiosmtpd handler: accepts mail for the bounce domain only, and records each message's reports."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        if not settings.bounce_domain.strip():
            raise ValueError("the bounce listener takes mail for SIGNPOST_BOUNCE_DOMAIN: set it")
        self.engine = engine
        self.settings = settings
        self.domain = settings.bounce_domain.strip().lower()
        self.secret = settings.secret_key.get_secret_value() if settings.secret_key else ""
        self.recorded = 0

    async def handle_RCPT(self, server, session, envelope, address: str, rcpt_options) -> str:
        local, _, domain = address.lower().rpartition("@")
        if domain != self.domain:
            return "550 5.7.1 this server takes mail for the bounce domain only"
        if local.startswith(LOCAL_PREFIX + "+") and read_verp(self.secret, self.domain, address) is None:
            return "550 5.1.1 not a bounce address of ours"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope) -> str:
        try:
            recorded = await asyncio.get_running_loop().run_in_executor(
                None, take_message, self.engine, self.settings, envelope.original_content, envelope.rcpt_tos, "smtp"
            )
        except Exception:
            log.exception("could not record a bounce; the sender will try again")
            return "451 4.3.0 cannot record this now, try again later"
        self.recorded += len(recorded)
        return "250 2.0.0 recorded"


class _LMTPController(Controller):
    def factory(self):
        return LMTP(self.handler, **self.SMTP_kwargs)


class BounceListener:
    """The handler on ``host:port``, in a thread of its own; a context manager."""

    def __init__(self, engine: Engine, settings: Settings, host: str, port: int, protocol: str = "smtp") -> None:
        self.handler = BounceHandler(engine, settings)
        self.host, self.port = host, port
        controller = _LMTPController if protocol == "lmtp" else Controller
        self._controller = controller(
            self.handler, hostname=host, port=port, data_size_limit=MAX_MESSAGE_BYTES, ident="Signpost bounces"
        )

    def start(self) -> BounceListener:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def __enter__(self) -> BounceListener:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()


def listen_address(value: str) -> tuple[str, int]:
    """``HOST:PORT`` (or ``:PORT`` for every address) of SIGNPOST_BOUNCE_LISTEN."""
    host, _, port = value.strip().rpartition(":")
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"SIGNPOST_BOUNCE_LISTEN is HOST:PORT, not {value!r}")
    return host.strip("[]") or "0.0.0.0", int(port)
