"""Which period a community's digest covers: from one scheduled run to the next, in the community's time zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from cronsim import CronSim, CronSimError


class ScheduleError(ValueError):
    """A community's schedule is not a cron expression cronsim understands."""


def digest_period(schedule: str, timezone: str, now: datetime | None = None) -> tuple[datetime, datetime]:
    """The period [start, end) of the digest drafted at ``now``: it ends at the latest scheduled run at or
    before ``now`` and starts at the run before, so a weekly schedule gives a week and a daily one a day.

    Both ends are computed in the community's time zone (a Monday 07:00 London run stays at 07:00 across the
    clock change) and returned in UTC.
    """
    zone = ZoneInfo(timezone)
    local_now = (now or datetime.now(UTC)).astimezone(zone)
    try:
        # cronsim's reverse iteration starts strictly before the given moment; one second later includes it.
        runs = CronSim(schedule, local_now.replace(microsecond=0) + timedelta(seconds=1), reverse=True)
        end = next(runs)
        start = next(runs)
    except (CronSimError, StopIteration) as error:
        raise ScheduleError(f"schedule {schedule!r}: {error}") from error
    return start.astimezone(UTC), end.astimezone(UTC)


def next_run(schedule: str, timezone: str, now: datetime | None = None) -> datetime:
    """When the schedule next fires after ``now``, in UTC."""
    local_now = (now or datetime.now(UTC)).astimezone(ZoneInfo(timezone))
    try:
        return next(CronSim(schedule, local_now)).astimezone(UTC)
    except (CronSimError, StopIteration) as error:
        raise ScheduleError(f"schedule {schedule!r}: {error}") from error
