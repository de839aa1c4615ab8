"""The local stand-in for the EventBridge schedules: the deadline alerts and the automatic reminders.

In AWS a daily rule (:data:`tachiai.names.ALERTS_SCHEDULE_CRON`, UTC) invokes the ``ai_extract``
function with :data:`tachiai.names.ALERTS_EVENT`, and an hourly one
(:data:`tachiai.names.REMINDERS_SCHEDULE_MINUTES`) the ``send`` function with
:data:`tachiai.names.REMINDERS_EVENT`. Locally (moto keeps rules but never fires them):

* :class:`DailySchedule` — a thread that runs a job every day at the same UTC time as the rule
  (``tachiai local`` starts it);
* :class:`IntervalSchedule` — a thread that runs a job every N minutes (the reminders);
* :func:`alerts_app` — ``POST /_local/alerts`` runs the job now (``?today=YYYY-MM-DD`` to see what
  would be sent on that day), answering with what was sent; ``tachiai local alerts`` calls it;
* :func:`reminders_app` — ``POST /_local/reminders`` runs the reminders now (``?now=<ISO 8601 time>``
  to send what would be due then), answering with what was sent.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any, Final, Self

from werkzeug.wrappers import Request, Response

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

__all__ = [
    "ALERTS_PATH",
    "REMINDERS_PATH",
    "DailySchedule",
    "IntervalSchedule",
    "alerts_app",
    "cron_time",
    "reminders_app",
]

ALERTS_PATH: Final = "/_local/alerts"
REMINDERS_PATH: Final = "/_local/reminders"

logger = logging.getLogger(__name__)


def cron_time(cron: Mapping[str, str]) -> time:
    """The UTC time of day of a daily EventBridge cron given as ``{"minute": "0", "hour": "0"}``.

    :raises ValueError: not a fixed daily time (a range, a list, ``*``...).
    """
    try:
        return time(int(cron["hour"]), int(cron["minute"]), tzinfo=UTC)
    except (KeyError, ValueError) as e:
        raise ValueError(f"not a fixed daily time: {dict(cron)}") from e


class DailySchedule:
    """Runs ``job`` every day at ``at`` (UTC) in a daemon thread until :meth:`stop`.

    A failing run is logged and the next day's run happens anyway (as EventBridge would).
    """

    def __init__(
        self, at: time, job: Callable[[], Any], *, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self.at = at
        self._job = job
        self._clock = clock
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    def next_run(self, now: datetime) -> datetime:
        """The first run strictly after ``now``."""
        today = datetime.combine(now.astimezone(UTC).date(), self.at)
        return today if today > now else today + timedelta(days=1)

    def start(self) -> Self:
        self._thread = threading.Thread(target=self._loop, name="tachiai-local-schedule", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopped.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _loop(self) -> None:
        while True:
            now = self._clock()
            if self._stopped.wait((self.next_run(now) - now).total_seconds()):
                return
            try:
                self._job()
            except Exception:  # one failed day must not end the schedule
                logger.exception("the scheduled job failed; it runs again at its next time")


class IntervalSchedule(DailySchedule):
    """Runs ``job`` every ``every`` (the first run one interval after :meth:`start`), as an EventBridge
    ``rate(...)`` rule does; a failing run is logged and the next one happens anyway."""

    def __init__(
        self,
        every: timedelta,
        job: Callable[[], Any],
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        super().__init__(time(0, 0, tzinfo=UTC), job, clock=clock)
        self.every = every

    def next_run(self, now: datetime) -> datetime:
        """One interval after ``now`` (the loop asks after each run: a run never follows another at once,
        even when the clock steps back or the wait ends a little early)."""
        return now + self.every


def reminders_app(run_reminders: Callable[[datetime | None], dict[str, Any]]) -> WSGIApplication:
    """``POST /_local/reminders[?now=<ISO 8601>]``: send the due automatic reminders now; JSON of what
    was sent."""
    return _run_now_app(
        REMINDERS_PATH, "POST runs the reminders", lambda r: _run_reminders(run_reminders, r.args.get("now"))
    )


def _run_reminders(run: Callable[[datetime | None], dict[str, Any]], now: str | None) -> Response:
    try:
        at = datetime.fromisoformat(now) if now else None
    except ValueError:
        return _json(400, {"error": f"now is not an ISO 8601 time: {now}"})
    if at is not None and at.tzinfo is None:
        return _json(400, {"error": f"now needs a time zone (e.g. +09:00 or Z): {now}"})
    try:
        return _json(200, run(at))
    except RuntimeError as e:  # the function failed: what it said
        return _json(502, {"error": str(e)})


def alerts_app(run_alerts: Callable[[date | None], dict[str, Any]]) -> WSGIApplication:
    """``POST /_local/alerts[?today=YYYY-MM-DD]``: run the deadline alerts now; JSON of what was sent."""
    return _run_now_app(ALERTS_PATH, "POST runs the alerts", lambda r: _run(run_alerts, r.args.get("today")))


def _run_now_app(path: str, allowed: str, run: Callable[[Request], Response]) -> WSGIApplication:
    """A developer's trigger of a scheduled job at ``path``: ``POST`` runs it (``run`` answers), any
    other method is 405 saying ``allowed``, any other path 404; never cached."""

    def app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = Request(environ)
        if request.path != path:
            response = Response("Not Found", status=404, content_type="text/plain; charset=utf-8")
        elif request.method != "POST":
            response = Response(allowed, status=405, headers={"Allow": "POST"})
        else:
            response = run(request)
        response.headers["Cache-Control"] = "no-store"
        return response(environ, start_response)

    return app


def _run(run_alerts: Callable[[date | None], dict[str, Any]], today: str | None) -> Response:
    try:
        day = date.fromisoformat(today) if today else None
    except ValueError:
        return _json(400, {"error": f"today is not a date (YYYY-MM-DD): {today}"})
    try:
        return _json(200, run_alerts(day))
    except RuntimeError as e:  # the function failed: what it said
        return _json(502, {"error": str(e)})


def _json(status: int, body: Any) -> Response:
    return Response(
        json.dumps(body, ensure_ascii=False), status=status, content_type="application/json; charset=utf-8"
    )
