"""L4 locally: the daily alerts run at the EventBridge rule's time, and on demand at /_local/alerts."""

from __future__ import annotations

import json
import threading
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
from tachiai import names
from tachiai.local.schedule import DailySchedule, alerts_app, cron_time
from werkzeug.test import Client


def test_the_local_schedule_runs_at_the_rules_time():
    assert cron_time(names.ALERTS_SCHEDULE_CRON) == time(
        int(names.ALERTS_SCHEDULE_CRON["hour"]), int(names.ALERTS_SCHEDULE_CRON["minute"]), tzinfo=UTC
    )
    with pytest.raises(ValueError, match="fixed daily time"):
        cron_time({"minute": "0", "hour": "*/2"})


def test_the_next_run_is_today_if_the_time_is_still_ahead_else_tomorrow():
    schedule = DailySchedule(time(0, 0, tzinfo=UTC), lambda: None)
    assert schedule.next_run(datetime(2026, 12, 5, 23, 59, tzinfo=UTC)) == datetime(2026, 12, 6, tzinfo=UTC)
    assert schedule.next_run(datetime(2026, 12, 6, 0, 0, tzinfo=UTC)) == datetime(2026, 12, 7, tzinfo=UTC)
    late = DailySchedule(time(9, 30, tzinfo=UTC), lambda: None)
    assert late.next_run(datetime(2026, 12, 6, 9, 0, tzinfo=UTC)) == datetime(2026, 12, 6, 9, 30, tzinfo=UTC)


def test_the_schedule_runs_the_job_every_day_and_goes_on_after_a_failure():
    # A clock that jumps to a moment just before the next run each time it is read.
    runs: list[int] = []
    done = threading.Event()

    def job() -> None:
        runs.append(1)
        if len(runs) == 3:
            done.set()
        if len(runs) == 1:
            raise RuntimeError("SES throttled")

    at = time(0, 0, tzinfo=UTC)
    day = iter(range(100))

    def clock() -> datetime:
        return datetime(2026, 12, 5 + next(day) % 20, tzinfo=UTC) - timedelta(milliseconds=20)

    schedule = DailySchedule(at, job, clock=clock).start()
    try:
        assert done.wait(5), f"ran {len(runs)} times"
    finally:
        schedule.stop()
    assert len(runs) >= 3


def test_stopping_the_schedule_ends_its_thread_without_running():
    runs: list[int] = []
    schedule = DailySchedule(time(0, 0, tzinfo=UTC), lambda: runs.append(1)).start()
    schedule.stop()
    assert runs == []


def _client(result: Any) -> tuple[Client, list[date | None]]:
    asked: list[date | None] = []

    def run(today: date | None) -> dict[str, Any]:
        asked.append(today)
        if isinstance(result, Exception):
            raise result
        return dict(result)

    return Client(alerts_app(run)), asked


def test_post_runs_the_alerts_now_for_today_or_the_day_given():
    client, asked = _client({"date": "2027-01-01", "sent": ["env_1#end#2027-01-04#7"]})
    response = client.post("/_local/alerts")
    assert response.status_code == 200
    assert json.loads(response.get_data(as_text=True))["sent"] == ["env_1#end#2027-01-04#7"]
    client.post("/_local/alerts?today=2027-01-01")
    assert asked == [None, date(2027, 1, 1)]


def test_a_bad_day_a_get_and_a_failed_function_are_answered_clearly():
    client, asked = _client(RuntimeError("ai_extract: MailServiceThrottled: slow down"))
    assert client.post("/_local/alerts?today=soon").status_code == 400
    assert client.get("/_local/alerts").status_code == 405
    failed = client.post("/_local/alerts")
    assert failed.status_code == 502 and "MailServiceThrottled" in failed.get_data(as_text=True)
    assert asked == [None]
