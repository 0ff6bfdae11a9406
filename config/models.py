"""What a sources-and-communities file may declare: sources, communities and their topics."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, HttpUrl, ValidationError, field_validator

SLUG = r"^[a-z0-9][a-z0-9-]{0,62}$"
# C0 and C1 controls (CR, LF, tab, ...) and Unicode's line and paragraph separators: a name holding one breaks
# mail headers and pages that put the name on one line.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def plain_name(value: str) -> str:
    """The name itself, or ValueError when it holds a control character (a line break, a tab, ...)."""
    found = CONTROL_CHARACTERS.search(value)
    if found:
        raise ValueError(f"a name may not contain control characters (found {found.group()!r})")
    return value


def clean_name(value: str) -> str:
    """A name taken from elsewhere (a feed's title, an OPML outline) with control characters and runs of space
    turned into single spaces: discovered names are cleaned, names people type are refused (plain_name)."""
    return " ".join(CONTROL_CHARACTERS.sub(" ", value).split())


Slug = Annotated[str, Field(pattern=SLUG, description="a-z, 0-9 and -, starting with a letter or digit")]
Name = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(plain_name)]


class Strict(BaseModel):
    # A typo in a field name must be an error, not a silently ignored key.
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Keywords(Strict):
    must: list[str] = Field(default_factory=list, description="At least one must appear in the article.")
    exclude: list[str] = Field(default_factory=list, description="None may appear in the article.")


class TopicConfig(Strict):
    slug: Slug
    name: Name
    description: str = ""
    keywords: Keywords = Field(default_factory=Keywords)
    examples: list[HttpUrl] = Field(default_factory=list, description="URLs of articles that fit the topic.")


class WebhookConfig(Strict):
    url: HttpUrl
    format: Literal["slack", "teams", "mattermost", "json"] = Field(
        "json", description="The body the receiver expects: a Slack, Teams or Mattermost message, or plain JSON."
    )


class DraftRulesConfig(Strict):
    """A community's overrides of the SIGNPOST_DRAFT_* settings; what is left out keeps the setting."""

    per_source_section: int | None = Field(None, ge=1, description="Items from one source in one section.")
    per_source_digest: int | None = Field(None, ge=1, description="Items from one source in the whole digest.")
    relevance_floor: float | None = Field(None, ge=0.0, le=1.0, description="Score an article needs for a section.")
    freshness: float | None = Field(None, ge=0.0, le=1.0, description="How much newer beats older in the period.")
    rare_source_boost: float | None = Field(None, ge=0.0, le=1.0, description="Boost of sources that post rarely.")


class CommunityConfig(Strict):
    slug: Slug
    name: Name
    description: str = ""
    timezone: str = "Europe/London"
    schedule: str = Field("0 7 * * MON", description="Cron expression of the weekly run.")
    items_per_topic: int = Field(5, ge=1, le=50)
    curators: list[str] = Field(default_factory=list, description="Email addresses of the curators.")
    topics: list[TopicConfig] = Field(default_factory=list)
    webhooks: list[WebhookConfig] = Field(default_factory=list, description="Where each published digest is posted.")
    draft: DraftRulesConfig = Field(default_factory=DraftRulesConfig, description="Caps and floor of the drafts.")

    @field_validator("timezone")
    @classmethod
    def known_timezone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(f"unknown time zone {value!r}") from error
        return value

    @field_validator("schedule")
    @classmethod
    def cron_schedule(cls, value: str) -> str:
        from datetime import UTC, datetime

        from cronsim import CronSim, CronSimError

        try:
            CronSim(value, datetime.now(UTC))
        except CronSimError as error:
            raise ValueError(f"not a cron expression ({error}), e.g. '0 7 * * MON' for Mondays at 07:00") from error
        return value


class SourceConfig(Strict):
    url: HttpUrl
    name: Name | None = None
    kind: Literal["auto", "feed", "sitemap", "listing"] = "auto"
    communities: list[str] = Field(default_factory=list)
    enabled: bool = True
    allow: list[str] = Field(default_factory=list, description="Regexes a listing link must match.")
    deny: list[str] = Field(default_factory=list, description="Regexes a listing link must not match.")
    max_depth: int | None = Field(None, ge=0, le=5)
    max_pages: int | None = Field(None, ge=1, le=10000)

    @field_validator("allow", "deny")
    @classmethod
    def compiles(cls, patterns: list[str]) -> list[str]:
        for pattern in patterns:
            try:
                re.compile(pattern)
            except re.error as error:
                raise ValueError(f"bad regular expression {pattern!r}: {error}") from error
        return patterns


class SignpostFile(Strict):
    communities: list[CommunityConfig] = Field(default_factory=list)
    sources: list[SourceConfig] = Field(default_factory=list)


SLUG_RULE = "use a-z, 0-9 and -, starting with a letter or digit (at most 63 characters)"


def message_of(detail: dict) -> str:
    """What one of pydantic's error details says, in the words files and forms both use."""
    if detail["type"] == "string_pattern_mismatch" and detail["loc"][-1:] == ("slug",):
        return SLUG_RULE
    return detail["msg"].removeprefix("Value error, ")


def problems_of(error: ValidationError) -> list[str]:
    """Each problem of a failed validation as "field: message", for a form to show next to what was typed."""
    return [
        f"{'.'.join(str(part) for part in detail['loc']) or 'value'}: {message_of(detail)}" for detail in error.errors()
    ]
