"""`minqing scheduler [--loop]`: run the periodic jobs listed in minqing.core.schedule.

Without --loop, every job that is due runs once and the command exits, so cron can
call it every minute. With --loop it runs until SIGTERM/SIGINT, sleeping between
jobs. Last-run times are kept in DATA_DIR/scheduler-state.json.

A job never runs twice at the same time: on PostgreSQL each run holds an advisory
lock named after the job (so schedulers on several machines cannot overlap), on
SQLite a file lock in DATA_DIR. Jobs are idempotent commands, so a second
scheduler only costs repeated work; one scheduler per deployment is the norm.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings
from django.core.management import call_command, get_commands
from django.core.management.base import BaseCommand, CommandError
from django.db import close_old_connections, connection

from minqing.core import schedule
from minqing.core.schedule import ScheduledJob

logger = logging.getLogger("minqing.scheduler")


def _state_path() -> Path:
    return Path(settings.DATA_DIR) / "scheduler-state.json"


def load_state() -> dict[str, float]:
    try:
        return {str(k): float(v) for k, v in json.loads(_state_path().read_text()).items()}
    except (OSError, ValueError, AttributeError):
        return {}


def save_state(state: dict[str, float]) -> None:
    path = _state_path()
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(state, indent=1, sort_keys=True))
    temporary.replace(path)


def is_due(job: ScheduledJob, state: dict[str, float], now: float) -> bool:
    last = state.get(job.name)
    return last is None or now - last >= job.interval_seconds


def _advisory_key(name: str) -> int:
    return int.from_bytes(hashlib.sha256(f"minqing.scheduler:{name}".encode()).digest()[:8], "big", signed=True)


@contextlib.contextmanager
def job_lock(name: str) -> Iterator[bool]:
    """Yield True when this process holds the job's lock, False when another run holds it."""
    if connection.vendor == "postgresql":
        key = _advisory_key(name)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
            acquired = bool(cursor.fetchone()[0])
        try:
            yield acquired
        finally:
            if acquired:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_unlock(%s)", [key])
        return
    lock_path = Path(settings.DATA_DIR) / f".scheduler-{name}.lock"
    with open(lock_path, "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def run_job(job: ScheduledJob) -> str:
    """Run one job now. Returns "ran", "missing", "busy" or "failed"."""
    if job.command not in get_commands():
        logger.info("job %s skipped: command %r does not exist in this version", job.name, job.command)
        return "missing"
    close_old_connections()
    try:
        with job_lock(job.name) as acquired:
            if not acquired:
                logger.info("job %s skipped: already running elsewhere", job.name)
                return "busy"
            started = time.monotonic()
            logger.info("job %s starting: %s %s", job.name, job.command, " ".join(job.args))
            call_command(job.command, *job.args)
            logger.info("job %s finished in %.1fs", job.name, time.monotonic() - started)
            return "ran"
    except Exception:
        logger.exception("job %s failed", job.name)
        return "failed"
    finally:
        close_old_connections()


class Command(BaseCommand):
    help = "Run the periodic jobs (deadline scan, warning scan, reports…) that are due; --loop keeps running."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--loop", action="store_true", help="run forever; stop on SIGTERM or Ctrl-C")
        parser.add_argument("--job", action="append", default=[], help="run only this job (repeatable); ignores due")
        parser.add_argument("--list", action="store_true", help="list the registered jobs and exit")
        parser.add_argument("--tick", type=float, default=15.0, help="seconds between checks in --loop (default 15)")

    def handle(self, *args, **options) -> None:
        jobs = list(schedule.JOBS)
        if options["list"]:
            commands = get_commands()
            for job in jobs:
                present = "" if job.command in commands else "  (command not installed: skipped)"
                command_line = " ".join((job.command, *job.args))
                self.stdout.write(f"{job.name:28} every {job.interval_seconds:>6}s  {command_line}{present}")
            return
        if options["job"]:
            by_name = {job.name: job for job in jobs}
            unknown = [name for name in options["job"] if name not in by_name]
            if unknown:
                raise CommandError(f"unknown job(s): {', '.join(unknown)}")
            state = load_state()
            failed = False
            for name in options["job"]:
                outcome = run_job(by_name[name])
                failed |= outcome == "failed"
                if outcome == "ran":
                    state[name] = time.time()
            save_state(state)
            if failed:
                raise CommandError("a job failed; see the log")
            return
        if options["loop"]:
            self._loop(jobs, options["tick"])
        else:
            self._run_due(jobs)

    def _run_due(self, jobs: list[ScheduledJob]) -> None:
        state = load_state()
        for job in jobs:
            if not is_due(job, state, time.time()):
                continue
            outcome = run_job(job)
            if outcome in ("ran", "failed"):
                # A failed job waits for its next interval rather than retrying in a tight loop.
                state[job.name] = time.time()
                save_state(state)

    def _loop(self, jobs: list[ScheduledJob], tick: float) -> None:
        stopping = threading.Event()

        def stop(signum, frame) -> None:
            logger.info("scheduler received %s; stopping after the current job", signal.Signals(signum).name)
            stopping.set()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        missing_logged: set[str] = set()
        logger.info("scheduler started with %d job(s)", len(jobs))
        while not stopping.is_set():
            state = load_state()
            for job in jobs:
                if stopping.is_set():
                    break
                if job.command not in get_commands():
                    if job.name not in missing_logged:
                        run_job(job)  # logs the skip once
                        missing_logged.add(job.name)
                    continue
                if is_due(job, state, time.time()):
                    outcome = run_job(job)
                    if outcome in ("ran", "failed"):
                        state[job.name] = time.time()
                        save_state(state)
            stopping.wait(tick)
        logger.info("scheduler stopped")
