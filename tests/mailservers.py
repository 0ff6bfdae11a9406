"""Real mail servers for tests, each a private instance on loopback: Debian's Postfix and Dovecot."""

from __future__ import annotations

import shutil
import socket
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


def listening(port: int, seconds: float, process: subprocess.Popen | None = None) -> bool:
    """Whether something listens on the loopback port within ``seconds`` (giving up if ``process`` ends)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and (process is None or process.poll() is None):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            time.sleep(0.2)
    return False


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
        try:
            self._postfix("start")
        except BaseException:
            shutil.rmtree(self.folder, ignore_errors=True)
            raise
        if not listening(self.port, 20):
            self.__exit__()
            raise RuntimeError(f"postfix did not listen on {self.port}: {self.log()}")
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self._postfix("stop")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)


def make_certificates(folder: Path, name: str = "localhost") -> tuple[Path, Path, Path, object]:
    """A test CA and a certificate it issued for ``name`` and 127.0.0.1: (CA file, certificate, key, the key)."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.UTC)
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Signpost test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName(name), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    folder.mkdir(parents=True, exist_ok=True)
    ca_file, cert_file, key_file = folder / "ca.pem", folder / "cert.pem", folder / "key.pem"
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return ca_file, cert_file, key_file, key


def require_dovecot() -> None:
    if not DOVECOT.exists():
        pytest.skip("Dovecot is not installed (Debian: apt-get install dovecot-imapd); the IMAP bounce test is skipped")


class Dovecot:
    """A private Dovecot serving IMAP over TLS (imaps) on a free loopback port, one user with a password."""

    def __init__(self, user: str = "bounces", password: str = "mailbox-password") -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="signpost-dovecot-"))
        self.folder.chmod(0o755)
        self.user, self.password = user, password
        self.port = free_port()
        self.ca_file, cert, key, _ = make_certificates(self.folder / "tls")
        (self.folder / "users").write_text(f"{user}:{{PLAIN}}{password}\n")
        (self.folder / "mail").mkdir()
        shutil.chown(self.folder / "mail", "nobody", "nogroup")
        self.config = self.folder / "dovecot.conf"
        self.config.write_text(
            f"""
base_dir = {self.folder}/run
instance_name = signpost-{self.port}
state_dir = {self.folder}/state
listen = 127.0.0.1
protocols = imap
ssl = required
ssl_cert = <{cert}
ssl_key = <{key}
log_path = {self.folder}/dovecot.log
auth_mechanisms = plain
first_valid_uid = 1
mail_location = maildir:{self.folder}/mail/%u
passdb {{
  driver = passwd-file
  args = {self.folder}/users
}}
userdb {{
  driver = static
  args = uid=nobody gid=nogroup home={self.folder}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    port = 0
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {self.port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
}}
"""
        )
        self.process: subprocess.Popen | None = None

    def log(self) -> str:
        path = self.folder / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def __enter__(self) -> Dovecot:
        self.process = subprocess.Popen([str(DOVECOT), "-F", "-c", str(self.config)])
        if not listening(self.port, 20, self.process):
            log = self.log()
            self.__exit__()
            raise RuntimeError(f"dovecot did not listen on {self.port}: {log}")
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(20)
        shutil.rmtree(self.folder, ignore_errors=True)
