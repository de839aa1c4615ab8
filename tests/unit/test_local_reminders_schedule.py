"""S5 locally: the automatic reminders run every interval as the hourly EventBridge rule does, and on
demand at /_local/reminders (``?now=`` for another moment)."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from tachiai import names
from tachiai.local.schedule import REMINDERS_PATH, IntervalSchedule, reminders_app
from werkzeug.test import Client

HOUR = timedelta(minutes=names.REMINDERS_SCHEDULE_MINUTES)


def test_the_next_run_is_one_interval_after_the_last():
    schedule = IntervalSchedule(HOUR, lambda: None)
    now = datetime(2026, 12, 6, 9, 17, tzinfo=UTC)
    assert schedule.next_run(now) == datetime(2026, 12, 6, 10, 17, tzinfo=UTC)


def test_the_interval_schedule_runs_again_after_a_failed_run():
    runs: list[int] = []
    done = threading.Event()

    def job() -> None:
        runs.append(1)
        if len(runs) == 2:
            done.set()
        if len(runs) == 1:
            raise RuntimeError("the send function failed")

    schedule = IntervalSchedule(timedelta(milliseconds=10), job).start()
    try:
        assert done.wait(5), f"ran {len(runs)} times"
    finally:
        schedule.stop()


def test_posting_reminders_runs_them_at_the_given_moment():
    seen: list[datetime | None] = []

    def run(now: datetime | None) -> dict[str, Any]:
        seen.append(now)
        return {"sent": [{"envelope": "env_1", "participant": "p1"}]}

    client = Client(reminders_app(run))
    response = client.post(f"{REMINDERS_PATH}?now=2026-12-08T09:00:00%2B09:00")
    assert response.status_code == 200 and json.loads(response.data)["sent"][0]["envelope"] == "env_1"
    assert client.post(REMINDERS_PATH).status_code == 200
    assert seen == [datetime(2026, 12, 8, tzinfo=UTC), None]


def test_reminders_refuse_a_moment_without_a_time_zone_or_a_get():
    client = Client(reminders_app(lambda now: {"sent": []}))
    assert client.post(f"{REMINDERS_PATH}?now=2026-12-08T09:00:00").status_code == 400
    assert client.post(f"{REMINDERS_PATH}?now=tomorrow").status_code == 400
    assert client.get(REMINDERS_PATH).status_code == 405
