#!/usr/bin/env python3
"""Case-core benchmarks: the demo year and the actions' throughput, on SQLite and PostgreSQL.

    .venv/bin/python bench/case_core.py                      # 11,500-case demo year + 500-case throughput
    .venv/bin/python bench/case_core.py --cases 2000 --backends sqlite
    .venv/bin/python bench/case_core.py --what-if            # also: what caching in cases/ would save

Each backend gets a fresh database in a subprocess: SQLite in a temporary MINQING_DATA_DIR,
PostgreSQL in a new database on 127.0.0.1:5432 (user postgres, dropped afterwards). The
subprocess runs migrate, `orgs load yiyang`, `calendar seed`, `demo accounts` and then
`demo year`; the throughput run then registers N more cases (untimed) and times
accept → assign → sign_for → reply → close on them, one transaction per action, as the web
views do. Figures are printed, not asserted: targets are ≤ 90 s for the demo year on SQLite
and ≥ 200 transitions/s on PostgreSQL.

`--what-if` repeats the throughput run with in-process stand-ins for caches the cases app
does not have yet (calendar, SLA policies, notification recipients, county path), to put a
number on each suggested change. The stand-ins live only in this benchmark process.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG_URL = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432")
STEPS = ("accept", "assign", "sign_for", "reply", "close")


# --- orchestration -----------------------------------------------------------------------


def _run(env: dict[str, str], *args: str) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "minqing.cli", *args], cwd=ROOT, env=env, capture_output=True, text=True
    )
    if done.returncode:
        sys.stderr.write(done.stdout[-3000:] + done.stderr[-3000:])
        raise SystemExit(f"failed: minqing {' '.join(args)}")
    return time.perf_counter() - started, done.stdout


def _environment(backend: str, data_dir: str, db_name: str) -> dict[str, str]:
    env = {**os.environ, "MINQING_DATA_DIR": data_dir, "DEBUG": "0", "PYTHONUNBUFFERED": "1"}
    env.pop("DATABASE_URL", None)
    if backend == "postgres":
        env["DATABASE_URL"] = f"{PG_URL}/{db_name}"
    return env


def _create_pg(db_name: str) -> None:
    import psycopg

    with psycopg.connect(f"{PG_URL}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{db_name}"')
        conn.execute(f'CREATE DATABASE "{db_name}"')


def _drop_pg(db_name: str) -> None:
    import psycopg

    with psycopg.connect(f"{PG_URL}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')


def bench_backend(backend: str, args: argparse.Namespace) -> dict[str, float]:
    figures: dict[str, float] = {}
    db_name = f"bench_case_core_{os.getpid()}"
    with tempfile.TemporaryDirectory(prefix=f"minqing-bench-{backend}-") as data_dir:
        if backend == "postgres":
            _create_pg(db_name)
        try:
            env = _environment(backend, data_dir, db_name)
            figures["setup_s"] = sum(
                _run(env, *step)[0]
                for step in (
                    ("migrate", "--noinput", "-v0"),
                    ("orgs", "load", "yiyang"),
                    ("calendar", "seed"),
                    ("demo", "accounts"),
                )
            )
            print(f"  [{backend}] setup (migrate, orgs, calendar, accounts): {figures['setup_s']:.1f} s", flush=True)
            wall, out = _run(env, "demo", "year", "--cases", str(args.cases), "--seed", str(args.seed))
            match = re.search(r"(\d+) cases, (\d+) events in ([\d.]+) s", out)
            figures["demo_wall_s"] = wall
            figures["demo_s"] = float(match.group(3)) if match else wall
            figures["demo_events"] = float(match.group(2)) if match else 0
            print(f"  [{backend}] demo year: {figures['demo_s']:.1f} s ({wall:.1f} s with start-up)", flush=True)
            for line in out.splitlines()[-4:-1]:
                print(f"  [{backend}]   {line.strip()}")
            worker = [sys.executable, __file__, "--worker", "--throughput-cases", str(args.throughput_cases)]
            if args.what_if:
                worker += ["--what-if", "--cases", str(args.cases), "--seed", str(args.seed + 1)]
            done = subprocess.run(worker, cwd=ROOT, env=env, capture_output=True, text=True)
            if done.returncode:
                sys.stderr.write(done.stdout[-3000:] + done.stderr[-3000:])
                raise SystemExit("throughput worker failed")
            result = json.loads(done.stdout.strip().splitlines()[-1])
            figures.update(result)
            print(f"  [{backend}] actions: {result['tps']:.0f} transitions/s", flush=True)
        finally:
            if backend == "postgres" and not args.keep:
                _drop_pg(db_name)
    return figures


def _table(rows: list[tuple[str, float | None, float | None, str]]) -> str:
    lines = [f"{'figure':<46} {'SQLite':>12} {'PostgreSQL':>12} {'PG/SQLite':>10}", "-" * 83]
    for label, sqlite, pg, fmt in rows:
        ratio = f"{pg / sqlite:.2f}" if sqlite and pg else "—"
        lines.append(
            f"{label:<46} {format(sqlite, fmt) if sqlite is not None else '—':>12} "
            f"{format(pg, fmt) if pg is not None else '—':>12} {ratio:>10}"
        )
    return "\n".join(lines)


def orchestrate(args: argparse.Namespace) -> None:
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    print(f"case-core benchmark: demo year of {args.cases} cases, throughput over {args.throughput_cases} cases")
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start")
    results = {}
    for backend in backends:
        print(f"{backend}:", flush=True)
        try:
            results[backend] = bench_backend(backend, args)
        except SystemExit as failure:  # print what the other backend measured anyway
            print(f"  [{backend}] FAILED: {failure}", flush=True)
            results[backend] = {}
    s, p = results.get("sqlite", {}), results.get("postgres", {})
    rows = [
        ("demo year generation, s (target ≤ 90 on SQLite)", s.get("demo_s"), p.get("demo_s"), ".1f"),
        ("demo year, cases per s", _per(args.cases, s.get("demo_s")), _per(args.cases, p.get("demo_s")), ".0f"),
        ("demo year, events written", s.get("demo_events"), p.get("demo_events"), ".0f"),
        ("actions, transitions/s (target ≥ 200 on PG)", s.get("tps"), p.get("tps"), ".0f"),
        ("actions, ms per transition", _inverse(s.get("tps")), _inverse(p.get("tps")), ".2f"),
    ]
    for step in STEPS:
        rows.append((f"  {step}, ms", s.get(f"ms_{step}"), p.get(f"ms_{step}"), ".2f"))
    rows.append(("  register (untimed above), ms", s.get("ms_register"), p.get("ms_register"), ".2f"))
    if args.what_if:
        rows.append(("what-if all stand-ins: demo year again, s", s.get("demo_s_all"), p.get("demo_s_all"), ".1f"))
        rows.append(
            (
                "what-if baseline (same DB, later), transitions/s",
                s.get("tps_baseline_again"),
                p.get("tps_baseline_again"),
                ".0f",
            )
        )
        for name in WHAT_IFS:
            rows.append((f"what-if {name}, transitions/s", s.get(f"tps_{name}"), p.get(f"tps_{name}"), ".0f"))
    print()
    print(_table(rows))
    print(f"load average at end {os.getloadavg()[0]:.1f} (2 shared cores: figures vary with other work)")


def _per(n: int, seconds: float | None) -> float | None:
    return n / seconds if seconds else None


def _inverse(tps: float | None) -> float | None:
    return 1000 / tps if tps else None


# --- worker (inside the benchmark database) -----------------------------------------------

WHAT_IFS = ("calendar", "policies", "recipients", "county_path", "all")


def _apply_what_if(name: str):
    """Stand-ins for caches the cases app does not have yet; only in this process. Returns an undo."""
    from minqing.cases import actions, deadlines, notifications
    from minqing.workcalendar.selectors import load_calendar

    saved = [
        (module, attr, getattr(module, attr))
        for module, attr in (
            (deadlines, "load_calendar"),
            (actions, "load_calendar"),
            (deadlines, "_policies"),
            (notifications, "unit_staff"),
            (notifications, "county_staff"),
            (actions, "_county_path"),
        )
    ]

    def undo() -> None:
        for module, attr, value in saved:
            setattr(module, attr, value)

    if name in ("calendar", "all"):
        calendar = load_calendar()
        deadlines.load_calendar = actions.load_calendar = lambda: calendar
    if name in ("policies", "all"):
        policies = deadlines._policies()
        deadlines._policies = lambda: policies
    if name in ("recipients", "all"):
        unit_staff, county_staff = notifications.unit_staff, notifications.county_staff
        units_memo: dict = {}
        county_memo: dict = {}

        def cached_unit_staff(units, roles=notifications.UNIT_STAFF):
            units = list(units)
            key = (tuple(u.pk for u in units), tuple(roles))
            if key not in units_memo:
                units_memo[key] = unit_staff(units, roles)
            return units_memo[key]

        def cached_county_staff(case, roles):
            key = (case.location_path, tuple(roles))
            if key not in county_memo:
                county_memo[key] = county_staff(case, roles)
            return county_memo[key]

        notifications.unit_staff, notifications.county_staff = cached_unit_staff, cached_county_staff
    if name in ("county_path", "all"):
        county_path, memo = actions._county_path, {}

        def cached_county_path(case):
            if case.location_unit_id not in memo:
                memo[case.location_unit_id] = county_path(case)
            return memo[case.location_unit_id]

        actions._county_path = cached_county_path
    return undo


def _throughput(count: int) -> dict[str, float]:
    from django.db import connection

    from minqing.accounts.models import User
    from minqing.cases import actions
    from minqing.cases.models import Category, Channel, Outcome
    from minqing.orgs.models import OrgUnit

    dispatcher = User.objects.get(username="dispatcher")
    handler = User.objects.get(username="liuquan_handler")
    township = OrgUnit.objects.get(code="410327102")
    villages = list(OrgUnit.objects.filter(parent=township, kind="village"))
    category = Category.objects.filter(parent__name="农村农业", name="土地承包经营").first()
    started = time.perf_counter()
    ids = []
    for i in range(count):
        case = actions.register_case(
            actions.NewCase(
                channel=Channel.WALK_IN,
                title=f"基准测试案件 {i}",
                content="基准测试：承包地纠纷，请求调解处理。（演示）",
                location_unit=villages[i % len(villages)],
                category=category,
                parties=[actions.PartyInput(name="基准（演示）", phone=f"13900{i % 10**6:06d}")],
            ),
            dispatcher,
        )
        ids.append(case.pk)
    register_s = time.perf_counter() - started
    timings = dict.fromkeys(STEPS, 0.0)
    calls = {
        "accept": lambda pk: actions.accept_case(pk, dispatcher),
        "assign": lambda pk: actions.assign_case(pk, dispatcher, lead_unit=township),
        "sign_for": lambda pk: actions.sign_for_case(pk, handler),
        "reply": lambda pk: actions.reply_case(
            pk, handler, outcome=Outcome.MEDIATED, reply_text="经调解双方达成协议。"
        ),
        "close": lambda pk: actions.close_case(pk, dispatcher),
    }
    for step in STEPS:  # step by step over all cases: each action sees a realistic, growing table
        began = time.perf_counter()
        for pk in ids:
            calls[step](pk)
        timings[step] = time.perf_counter() - began
    connection.close()
    total = sum(timings.values())
    result = {"tps": len(STEPS) * count / total, "ms_register": 1000 * register_s / count}
    result.update({f"ms_{step}": 1000 * seconds / count for step, seconds in timings.items()})
    return result


def worker(args: argparse.Namespace) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "minqing.settings")
    import django

    django.setup()
    from django.test.utils import override_settings

    no_tasks = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend", "QUEUES": ["default", "notify"]}}
    with override_settings(TASKS=no_tasks, DEBUG=False):
        result = _throughput(args.throughput_cases)
        if args.what_if:
            result["tps_baseline_again"] = _throughput(args.throughput_cases)["tps"]
            # The demo year again, on top (--force), with every stand-in at once.
            from minqing.demo.generator import generate_demo_year

            undo = _apply_what_if("all")
            result["demo_s_all"] = generate_demo_year(cases=args.cases, seed=args.seed, force=True).seconds
            undo()
            for name in WHAT_IFS:
                undo = _apply_what_if(name)
                result[f"tps_{name}"] = _throughput(args.throughput_cases)["tps"]
                undo()
    print(json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=11_500, help="demo year size (default 11500)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--throughput-cases", type=int, default=500, help="cases for the actions run (default 500)")
    parser.add_argument("--backends", default="sqlite,postgres", help="comma-separated: sqlite,postgres")
    parser.add_argument("--what-if", action="store_true", help="also measure stand-in caches for cases/")
    parser.add_argument("--keep", action="store_true", help="keep the PostgreSQL database")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    if args.worker:
        worker(args)
    else:
        orchestrate(args)


if __name__ == "__main__":
    main()
