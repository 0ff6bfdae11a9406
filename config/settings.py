"""Signpost's settings, read from the environment (prefix ``SIGNPOST_``) and an optional ``.env`` file."""

from __future__ import annotations

import ipaddress
import os
import secrets
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every knob Signpost has; each one is documented in the README (a test checks)."""

    model_config = SettingsConfigDict(env_prefix="SIGNPOST_", env_file=".env", extra="ignore")

    var_dir: Path = Field(Path("var"), description="Where the SQLite store, logs and the mail sink live.")
    database_url: str | None = Field(None, description="SQLAlchemy URL of the store; SQLite under var_dir when unset.")

    user_agent: str = Field(
        "Signpost/0.1 (+{contact_url})",
        description="User-Agent of the crawler; {contact_url} is replaced by contact_url.",
    )
    contact_url: str = Field(
        "https://github.com/signpost/signpost", description="Where site owners can read about the crawler."
    )
    allow_private_addresses: bool = Field(
        False, description="Allow sources on private or loopback addresses (tests and the demo need it)."
    )

    download_timeout: float = Field(
        30.0, description="Seconds a whole request may take (connect, headers, body, redirects) before it is abandoned."
    )
    max_page_bytes: int = Field(5 * 1024 * 1024, description="Responses larger than this are refused.")
    max_redirects: int = Field(5, description="Redirects followed before a URL is given up.")
    retry_times: int = Field(2, description="Retries, with backoff, of a failed request.")
    concurrent_requests: int = Field(32, description="Requests in flight across all sites.")
    concurrent_requests_per_domain: int = Field(4, description="Requests in flight to one site.")
    autothrottle: bool = Field(True, description="Adapt the request rate to each site's response times.")
    obey_robots_txt: bool = Field(True, description="Respect robots.txt (turn off only for your own sites).")
    crawl_batch_size: int = Field(100, description="Sources crawled by one Scrapy child process.")
    crawl_batch_timeout: float = Field(1800.0, description="Seconds before a crawl child process is killed.")
    listing_max_depth: int = Field(2, description="Link depth followed from a section/listing page.")
    max_pages_per_source: int = Field(200, description="Pages fetched from one source in one crawl.")
    source_check_minutes: int = Field(60, description="Minutes between checks of a healthy source.")
    failure_backoff_max_hours: int = Field(72, description="Longest wait before a failing source is tried again.")
    failing_after: int = Field(3, description="Consecutive failed crawls before a source is flagged failing.")

    extract_workers: int = Field(0, description="Extraction processes; 0 means one per CPU core.")
    dask_address: str = Field(
        "",
        description="Fan extraction and embedding out over Dask: a scheduler's address (tcp://host:8786), or "
        "`local` for a cluster started for each run; empty keeps them in this machine's own processes.",
    )
    dask_workers: int = Field(0, description="Worker processes of a `local` Dask cluster; 0 means one per CPU core.")
    dask_chunk_size: int = Field(256, description="Pages or articles per fanned-out extraction or embedding task.")
    min_article_chars: int = Field(250, description="Extracted text shorter than this is not an article.")

    embedding_model: str = Field(
        "all-MiniLM-L6-v2",
        description="sentence-transformers model: the shipped all-MiniLM-L6-v2, or a local model folder.",
    )
    embedding_batch_size: int = Field(64, description="Texts embedded at once.")
    embedding_max_tokens: int = Field(
        128, ge=16, le=512, description="Word pieces of an article (title, then text) the model reads."
    )

    # Drafts: what a section may hold (each community may override these in its file or on its admin page).
    draft_per_source_section: int = Field(
        2, ge=1, description="Items from one source in one section of a draft, at most."
    )
    draft_per_source_digest: int = Field(4, ge=1, description="Items from one source in a whole draft, at most.")
    draft_relevance_floor: float = Field(
        0.5, ge=0.0, le=1.0, description="Score an article needs for a section; below it, it is a borderline candidate."
    )
    draft_freshness: float = Field(
        0.1,
        ge=0.0,
        le=1.0,
        description="Share of its score an article from the period's first day loses to one from its last.",
    )
    draft_rare_source_boost: float = Field(
        0.1, ge=0.0, le=1.0, description="Score boost (share) of an article from a source that posts rarely."
    )
    draft_rare_source_posts: int = Field(
        2, ge=0, description="A source with at most this many articles a week (over the last 4 weeks) posts rarely."
    )

    # Digests and their delivery.
    public_url: str = Field(
        "http://localhost:8000", description="Where the web app is reached; links in emails start with it."
    )
    secret_key: SecretStr | None = Field(
        None, description="Signs unsubscribe and preferences links; required to render emails. Keep it secret."
    )
    mail_from: str = Field(
        "Signpost <signpost@localhost>", description="From address of digests; also receives mailto unsubscribes."
    )
    smtp_host: str = Field("localhost", description="SMTP server digests are handed to.")
    smtp_port: int = Field(587, description="Port of the SMTP server.")
    smtp_security: Literal["none", "starttls", "ssl"] = Field(
        "starttls", description="none, starttls (upgrade a plain connection) or ssl (TLS from the start, port 465)."
    )
    smtp_username: str | None = Field(None, description="SMTP login; no login when unset.")
    smtp_password: SecretStr | None = Field(None, description="SMTP password.")
    smtp_timeout: float = Field(30.0, description="Seconds before an SMTP command is abandoned.")
    smtp_rate_limit: float = Field(0.0, description="Emails a second handed to the SMTP server; 0 means no limit.")
    smtp_connections: int = Field(1, description="SMTP connections used at once by one send.")
    smtp_processes: int = Field(
        1, description="Sender processes of one send, each with SIGNPOST_SMTP_CONNECTIONS connections; one a core."
    )
    delivery_lease_seconds: int = Field(
        300, description="An outbox row left in sending this long (its sender died) is sent again."
    )
    delivery_retry_seconds: int = Field(
        60, description="Seconds before an email the server did not take (down, timeout, 4xx) is tried again; doubles."
    )
    delivery_retry_max_seconds: int = Field(
        3600, description="Longest wait between tries of an email; it is tried for as long as the outage lasts."
    )

    # The web app.
    session_cookie_secure: bool = Field(
        True, description="Send the sign-in cookie over HTTPS only; turn off only for http://localhost."
    )
    session_hours: int = Field(336, description="Hours a web sign-in lasts before signing in again.")
    signin_link_minutes: int = Field(15, description="Minutes an emailed sign-in link stays valid (it works once).")
    confirm_link_days: int = Field(7, description="Days a subscription confirmation link stays valid.")

    # Rate limits of the web app's forms; 0 turns one off.
    signin_failures_per_email: int = Field(
        10, description="Failed password sign-ins for one address within the window; then even the right one waits."
    )
    signin_failures_per_ip: int = Field(
        30, description="Failed password sign-ins from one client IP within the window."
    )
    signin_failure_window_minutes: int = Field(15, description="Minutes over which failed sign-ins are counted.")
    requested_emails_per_address: int = Field(
        5, description="Sign-in links and subscription emails asked for one address within the window."
    )
    requested_emails_per_ip: int = Field(
        20, description="Sign-in links and subscription emails asked for from one client IP within the window."
    )
    requested_email_window_minutes: int = Field(60, description="Minutes over which asked-for emails are counted.")
    suggestions_per_hour: int = Field(10, description="Links one member may suggest in an hour.")
    allowed_networks: list[str] = Field(
        [],
        description="Private networks (CIDR, e.g. 10.1.2.0/24) that may be fetched though private addresses are not.",
    )
    max_concurrent_fetches: int = Field(4, description="Pages the web app fetches at once; more wait their turn.")

    @field_validator("allowed_networks")
    @classmethod
    def _networks_parse(cls, networks: list[str]) -> list[str]:
        for network in networks:
            ipaddress.ip_network(network, strict=False)  # a ValueError names the bad one
        return networks

    # Deliverability: what mail systems answer (bounces, complaints) and signing; README "Deliverability".
    bounce_domain: str = Field(
        "", description="Domain of the signed VERP Return-Path (bounces+TOKEN@domain); empty sends from mail_from."
    )
    bounce_listen: str = Field(
        "", description="HOST:PORT where `signpost serve` takes bounces by SMTP or LMTP; empty runs no listener."
    )
    bounce_protocol: Literal["smtp", "lmtp"] = Field("smtp", description="smtp or lmtp, for the bounce listener.")
    soft_bounce_limit: int = Field(3, description="Soft bounces in a row (one per digest) that suppress an address.")
    bounce_imap_host: str = Field("", description="IMAP server of a mailbox of bounces to poll (TLS); empty: none.")
    bounce_imap_port: int = Field(993, description="Port of the bounce mailbox's IMAP server (TLS from the start).")
    bounce_imap_username: str = Field("", description="Login of the bounce mailbox.")
    bounce_imap_password: SecretStr | None = Field(None, description="Password of the bounce mailbox.")
    bounce_imap_folder: str = Field("INBOX", description="Folder of the bounce mailbox that is read.")
    bounce_imap_ca_file: str = Field(
        "", description="CA certificates (PEM) to trust for the IMAP server instead of the system's."
    )
    bounce_imap_minutes: int = Field(10, description="Minutes between polls of the bounce mailbox under serve.")
    dkim_selector: str = Field("", description="DKIM selector; with dkim_key_file, Signpost signs digests itself.")
    dkim_key_file: Path | None = Field(None, description="PEM RSA private key that signs digests (DKIM).")
    sns_topic_arns: str = Field(
        "", description="Amazon SNS topics (comma-separated ARNs) whose SES notifications are taken; empty: any."
    )
    sns_url_pattern: str = Field(
        r"^https://sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/",
        description="Regular expression the start of an SNS SigningCertURL and SubscribeURL must match (https, AWS).",
    )
    postmark_webhook_password: SecretStr | None = Field(
        None, description="Basic-auth password in Postmark's webhook URL; the Postmark endpoint is off without it."
    )
    sendgrid_webhook_public_key: str = Field(
        "", description="SendGrid's Signed Event Webhook verification key (base64); the endpoint is off without it."
    )
    mailgun_webhook_signing_key: SecretStr | None = Field(
        None, description="Mailgun's webhook signing key; the Mailgun endpoint is off without it."
    )

    @cached_property
    def store_url(self) -> str:
        """The database URL in use: the setting, or SQLite in var_dir."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.var_dir / 'signpost.db').resolve()}"

    @property
    def crawler_user_agent(self) -> str:
        return self.user_agent.replace("{contact_url}", self.contact_url)


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment, with explicit overrides (used by tests and the CLI)."""
    return Settings(**overrides)  # type: ignore[arg-type]


def local_secret_key(var_dir: Path) -> str:
    """The key in ``var_dir/secret_key``, made on first use: one machine's web app, flows and demo then agree.

    Several machines must share one key, so there SIGNPOST_SECRET_KEY is set instead and this file is unused.
    """
    path = Path(var_dir) / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f"secret_key.{os.getpid()}")
        partial.write_text(secrets.token_urlsafe(32), encoding="utf-8")
        partial.chmod(0o600)
        # Two commands starting at once: the first rename wins and both read the same key afterwards.
        if not path.exists():
            partial.replace(path)
        else:
            partial.unlink()
    return path.read_text(encoding="utf-8").strip()
