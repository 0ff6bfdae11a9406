"""Real mail servers for tests, each a private instance on loopback: Debian's Postfix and Dovecot."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from signpost.digests.mail_sink import free_port

POSTFIX = Path("/usr/sbin/postfix")
DOVECOT = Path("/usr/sbin/dovecot")

# Only the services a loopback relay needs, none chrooted (a private instance has no chroot jail).
MASTER_CF = """\
127.0.0.1:{port} inet n - n - - smtpd
pickup    unix  n - n 60 1 pickup
cleanup   unix  n - n - 0 cleanup
qmgr      unix  n - n 300 1 qmgr
rewrite   unix  - - n - - trivial-rewrite
bounce    unix  - - n - 0 bounce
defer     unix  - - n - 0 bounce
trace     unix  - - n - 0 bounce
verify    unix  - - n - 1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n - - proxymap
smtp      unix  - - n - - smtp
relay     unix  - - n - - smtp
showq     unix  n - n - - showq
error     unix  - - n - - error
retry     unix  - - n - - error
discard   unix  - - n - - discard
local     unix  - n n - - local
lmtp      unix  - - n - - lmtp
anvil     unix  - - n - 1 anvil
scache    unix  - - n - 1 scache
postlog   unix-dgram n - n - 1 postlogd
"""


def require_postfix() -> None:
    if not POSTFIX.exists():
        pytest.skip("Postfix is not installed (Debian: apt-get install postfix); the Postfix bounce tests are skipped")


class Postfix:
    """A private Postfix on a free loopback port: mail for ``local_domain`` goes to local(8), which has no users, so
    every address there bounces; ``transports`` route other domains (``{"bounces.test": "smtp:[127.0.0.1]:2525"}``).
    A message that cannot be delivered at once is returned at once (queue lifetime 0), so a 4xx bounces too."""

    def __init__(self, transports: dict[str, str], local_domain: str = "local.test") -> None:
        # Its own folder, readable by the postfix user (pytest's tmp_path is private to root).
        self.folder = Path(tempfile.mkdtemp(prefix="signpost-postfix-"))
        self.folder.chmod(0o755)
        self.port = free_port()
        self.config = self.folder / "etc"
        self.config.mkdir(parents=True)
        (self.config / "master.cf").write_text(MASTER_CF.format(port=self.port))
        (self.config / "transport").write_text(
            "".join(f"{domain} {next_hop}\n" for domain, next_hop in transports.items())
        )
        main = {
            "compatibility_level": "3.6",
            "queue_directory": self.folder / "queue",
            "data_directory": self.folder / "data",
            "mail_owner": "postfix",
            "setgid_group": "postdrop",
            "inet_interfaces": "127.0.0.1",
            "inet_protocols": "ipv4",
            "myhostname": "postfix.test",
            "mydomain": "postfix.test",
            "myorigin": "postfix.test",
            "mydestination": local_domain,
            # Accept every local address at SMTP time, so the failure comes later, as a DSN Postfix writes.
            "local_recipient_maps": "",
            # Were a test to name a system user, its mail stays in this folder.
            "mail_spool_directory": self.folder / "spool",
            "allow_mail_to_commands": "",
            "allow_mail_to_files": "",
            "alias_maps": "",
            "alias_database": "",
            "mynetworks": "127.0.0.0/8",
            "relay_domains": "",
            "transport_maps": f"texthash:{self.config / 'transport'}",
            "smtp_dns_support_level": "disabled",
            "smtp_host_lookup": "native",
            "maximal_queue_lifetime": "0",
            "bounce_queue_lifetime": "0",
            "queue_run_delay": "1s",
            "minimal_backoff_time": "1s",
            "maximal_backoff_time": "2s",
            "maillog_file": self.folder / "maillog",
            "maillog_file_prefixes": self.folder,
            "biff": "no",
            "smtputf8_enable": "no",
        }
        (self.config / "main.cf").write_text("".join(f"{key} = {value}\n" for key, value in main.items()))

    def _postfix(self, *arguments: str) -> None:
        result = subprocess.run(
            [str(POSTFIX), "-c", str(self.config), *arguments], capture_output=True, text=True, timeout=60
        )
        if result.returncode != 0:
            raise RuntimeError(f"postfix {' '.join(arguments)} failed: {result.stdout}{result.stderr}{self.log()}")

    def log(self) -> str:
        path = self.folder / "maillog"
        return path.read_text(errors="replace") if path.exists() else ""

    def __enter__(self) -> Postfix:
        (self.folder / "queue").mkdir()
        (self.folder / "data").mkdir()
        shutil.chown(self.folder / "data", "postfix")
        self._postfix("start")
        deadline = time.monotonic() + 20
        import socket

        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"postfix did not listen on {self.port}: {self.log()}")

    def __exit__(self, *exc: object) -> None:
        try:
            self._postfix("stop")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)
