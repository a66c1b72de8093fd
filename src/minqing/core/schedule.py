"""The periodic jobs run by `minqing scheduler`.

Each job is an idempotent management command: running it twice, or late, does
no harm. Apps register their jobs by adding a line here (the deadline scan, the
warning scan and the scheduled reports). A job whose command does not exist in
this checkout is skipped with one log line.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ScheduledJob:
    name: str
    interval_seconds: int
    command: str
    args: tuple[str, ...] = ()


MINUTE = 60
HOUR = 60 * MINUTE
DAY = 24 * HOUR

JOBS: list[ScheduledJob] = [
    # Nearly-due and overdue cases: flags and notifications, each once per due time.
    ScheduledJob("deadline_scan", 10 * MINUTE, "deadlines_scan"),
    # Notifications whose delivery failed or was never enqueued (retries with backoff).
    ScheduledJob("notify_send", MINUTE, "notify_send"),
    # Finished background-task results older than 14 days, on every queue.
    ScheduledJob("prune_task_results", DAY, "prune_db_task_results", ("--queue-name", "*", "--min-age-days", "14")),
    # Expired sessions pile up in the database otherwise.
    ScheduledJob("clear_sessions", DAY, "clearsessions"),
    # Statistics: fold new case events into the daily rollups and the search index.
    ScheduledJob("stats_update", 5 * MINUTE, "stats_update"),
    # Weekly, monthly and quarterly reports of the periods just ended, pushed once each.
    ScheduledJob("stats_reports", HOUR, "stats_reports"),
    # Rating SMS with a signed link for closed cases whose petitioner has no account; follow-up call sampling.
    ScheduledJob("feedback_invite", 10 * MINUTE, "feedback_invite"),
    ScheduledJob("feedback_sample", HOUR, "feedback_sample"),
    # Dispatch: suggestions recorded for new cases, and whether the dispatcher took them.
    ScheduledJob("dispatch_reconcile", 10 * MINUTE, "dispatch_reconcile"),
    # Dispatch classifiers retrained weekly from the closed cases (skipped while there are too few).
    ScheduledJob("dispatch_train", 7 * DAY, "dispatch_train", ("--if-enough",)),
    # Early warning: the scan of today (rules, detectors, clusters, person-level signals). Idempotent, so it
    # runs hourly and risk words or a rule reaching its count are pushed within the hour.
    ScheduledJob("alerts_scan", HOUR, "alerts_scan"),
]
