"""A digest's period follows the community's schedule in its own time zone."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from signpost.digests.periods import ScheduleError, digest_period, next_run


def test_weekly_period_ends_at_the_latest_run():
    monday = datetime(2026, 11, 16, 7, 0, tzinfo=UTC)
    assert digest_period("0 7 * * MON", "Europe/London", monday) == (datetime(2026, 11, 9, 7, tzinfo=UTC), monday)
    later = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
    assert digest_period("0 7 * * MON", "Europe/London", later)[1] == monday
    assert next_run("0 7 * * MON", "Europe/London", later) == datetime(2026, 11, 23, 7, tzinfo=UTC)


def test_local_time_is_kept_across_a_clock_change():
    # 07:00 in London is 06:00 UTC in summer and 07:00 UTC in winter.
    start, end = digest_period("0 7 * * MON", "Europe/London", datetime(2026, 11, 2, 8, 0, tzinfo=UTC))
    assert (start, end) == (datetime(2026, 10, 26, 7, tzinfo=UTC), datetime(2026, 11, 2, 7, tzinfo=UTC))
    start, _ = digest_period("0 7 * * MON", "Europe/London", datetime(2026, 10, 26, 8, 0, tzinfo=UTC))
    assert start == datetime(2026, 10, 19, 6, tzinfo=UTC)


def test_daily_schedule_gives_a_day_and_a_bad_one_a_clear_error():
    start, end = digest_period("30 9 * * *", "America/New_York", datetime(2026, 11, 22, 7, 0, tzinfo=UTC))
    assert (end - start).days == 1 and end == datetime(2026, 11, 21, 14, 30, tzinfo=UTC)
    with pytest.raises(ScheduleError, match="'every monday'"):
        digest_period("every monday", "UTC")
