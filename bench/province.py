#!/usr/bin/env python3
"""Province scale: build Henan (every township, synthetic villages) and bulk-load N cases.

    .venv/bin/python bench/province.py --cases 100000 --database h_d_province_100k      # PostgreSQL
    .venv/bin/python bench/province.py --backend sqlite --cases 1000000 --data-dir /tmp/p1m
    .venv/bin/python bench/province.py                                                   # 10,000,000 on PostgreSQL

Steps, each timed: a fresh database (PostgreSQL: DROP/CREATE DATABASE; SQLite: a new file in
--data-dir), `migrate`, `orgs load henan`, `calendar seed`, `demo accounts` plus a
`province_manager` (county manager at the province, 41), then N cases loaded by
`minqing.demo.province` in --workers processes over disjoint ranges (COPY on PostgreSQL), with
the statistics (rollups, ledgers, search documents) computed while loading, then summed and
indexed by `finish`. Progress and rate are printed while loading. The database is kept: measure
it with `bench/stats_bench.py --reuse-db NAME --data-dir DIR/postgres` (or `--sqlite-path`).
Everything is synthetic.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG_URL = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432")


def _load() -> str:
    return " / ".join(f"{x:.1f}" for x in os.getloadavg())


def _django() -> None:
    sys.path.insert(0, str(ROOT / "src"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "minqing.settings")
    import django

    django.setup()


# --- in-process steps (run in the target database's environment) ----------------------------------


def step_plan(args: argparse.Namespace) -> None:
    _django()
    from minqing.accounts.actions import create_staff_user, grant_membership
    from minqing.accounts.models import Role, User
    from minqing.demo import province
    from minqing.demo.accounts import demo_password
    from minqing.orgs.models import OrgUnit

    top = OrgUnit.objects.filter(code="41").first()
    if top is not None and not User.objects.filter(username="province_manager").exists():
        user = create_staff_user("province_manager", demo_password(), display_name="省级管理员（演示）")
        user.is_staff = True
        user.save(update_fields=["is_staff"])
        grant_membership(user, top, Role.COUNTY_MANAGER)
    plan = province.make_plan(args.cases, args.seed, args.span_days, not args.no_stats, chunk=args.chunk)
    if plan.stats:
        province.create_staging()
    print(plan.as_json())


def step_worker(args: argparse.Namespace) -> None:
    _django()
    from minqing.demo import province

    plan = province.Plan.from_json(args.plan)
    result = province.Loader(plan, args.worker, args.workers, args.deadline or None).run()
    print(json.dumps(result))


def step_finish(args: argparse.Namespace) -> None:
    _django()
    from django.db import connection

    from minqing.demo import province

    plan = province.Plan.from_json(args.plan)
    timings = province.finish(plan, json.loads(args.years))
    rows = {}
    existing = set(connection.introspection.table_names())
    with connection.cursor() as cursor:
        for table in (
            "orgs_orgunit",
            "cases_case",
            "cases_party",
            "cases_caseunit",
            "cases_caseevent",
            "feedback_rating",
            "stats_dailyrollup",
            "stats_monthlyrollup",
            "stats_unitdayrollup",
            "stats_caserollupstate",
            "stats_casesearchdoc",
        ):
            if table in existing:
                cursor.execute(f"SELECT COUNT(*) FROM {table}")
                rows[table] = cursor.fetchone()[0]
        if connection.vendor == "postgresql":
            cursor.execute("SELECT pg_database_size(current_database())")
            timings["db_bytes"] = cursor.fetchone()[0]
    print(json.dumps({**timings, "rows": rows}))


# --- orchestration ------------------------------------------------------------------------------------


def _run(env: dict[str, str], *argv: str) -> str:
    done = subprocess.run([sys.executable, *argv], cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode:
        sys.stderr.write(done.stdout[-3000:] + done.stderr[-3000:])
        raise SystemExit(f"failed: {' '.join(argv[:4])}")
    return done.stdout


def _timed(env: dict[str, str], label: str, *args: str) -> float:
    began = time.perf_counter()
    _run(env, "-m", "minqing.cli", *args)
    seconds = time.perf_counter() - began
    print(f"  {label:<34} {seconds:8.1f} s   (load {_load()})", flush=True)
    return seconds


def _workers(env: dict[str, str], args: argparse.Namespace, plan: str) -> tuple[float, dict]:
    began = time.perf_counter()
    deadline = time.time() + args.budget if args.budget else 0
    procs = []
    for worker in range(args.workers):
        argv = [sys.executable, __file__, "--step", "worker", "--plan", plan, "--worker", str(worker)]
        argv += ["--workers", str(args.workers), "--deadline", str(deadline)]
        procs.append(
            subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        )
    done = [0] * len(procs)

    def follow(index: int, stream) -> None:
        for line in stream:
            if "cases/s" in line:
                done[index] = int(line.split("]", 1)[1].split()[0].split("/")[0].replace(",", ""))
            else:
                sys.stderr.write(line)

    threads = [threading.Thread(target=follow, args=(i, p.stderr), daemon=True) for i, p in enumerate(procs)]
    for thread in threads:
        thread.start()
    while any(p.poll() is None for p in procs):
        time.sleep(args.progress)
        total = sum(done)
        elapsed = time.perf_counter() - began
        print(
            f"  loaded {total:,}/{args.cases:,} cases in {elapsed:,.0f} s: {total / elapsed:,.0f} cases/s "
            f"(load {_load()})",
            flush=True,
        )
    years: dict[str, int] = {}
    written: dict[str, int] = {}
    for proc in procs:
        if proc.returncode:
            raise SystemExit("a loader worker failed")
        result = json.loads(proc.stdout.read().strip().splitlines()[-1])
        for year, number in result["years"].items():
            years[year] = max(years.get(year, 0), number)
        written["prepare_s"] = max(written.get("prepare_s", 0), result["prepare_s"])
        for key in ("case", "event", "party", "unit", "rating"):
            written[key] = written.get(key, 0) + result.get(key, 0)
    for thread in threads:
        thread.join(timeout=5)
    return time.perf_counter() - began, {"years": years, "written": written}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=10_000_000)
    parser.add_argument("--backend", choices=("postgres", "sqlite"), default="postgres")
    parser.add_argument("--database", default="h_d_province_10m", help="PostgreSQL database (dropped and created)")
    parser.add_argument("--data-dir", default="", help="MINQING_DATA_DIR: keys, SQLite file (default /tmp/<database>)")
    parser.add_argument("--workers", type=int, default=0, help="loader processes (default: 2 on PostgreSQL, 1 SQLite)")
    parser.add_argument("--villages", type=int, default=18, help="synthetic villages per township")
    parser.add_argument("--span-days", type=float, default=365.0, help="cases are submitted over this many days")
    parser.add_argument("--chunk", type=int, default=5000, help="cases per transaction")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-stats", action="store_true", help="skip the statistics (run `stats rebuild` after)")
    parser.add_argument("--progress", type=float, default=30.0, help="seconds between progress lines")
    parser.add_argument("--step", choices=("plan", "worker", "finish"), help=argparse.SUPPRESS)
    parser.add_argument("--plan", help=argparse.SUPPRESS)
    parser.add_argument("--budget", type=float, default=0, help="stop loading after this many seconds (newest first)")
    parser.add_argument("--worker", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--deadline", type=float, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--years", default="{}", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.step:
        {"plan": step_plan, "worker": step_worker, "finish": step_finish}[args.step](args)
        return
    args.workers = args.workers or (2 if args.backend == "postgres" else 1)
    data_dir = Path(args.data_dir or f"/tmp/{args.database}") / args.backend
    data_dir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "MINQING_DATA_DIR": str(data_dir), "DEBUG": "0", "PYTHONUNBUFFERED": "1"}
    env.pop("DATABASE_URL", None)
    if args.backend == "postgres":
        import psycopg

        env["DATABASE_URL"] = f"{PG_URL}/{args.database}"
        with psycopg.connect(f"{PG_URL}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{args.database}"')
    else:
        for leftover in data_dir.glob("*.sqlite3*"):
            leftover.unlink()
    print(
        f"province benchmark: {args.cases:,} cases on {args.backend} "
        f"({args.database if args.backend == 'postgres' else data_dir}), "
        f"{args.workers} worker(s); {os.cpu_count()} CPUs, load {_load()}",
        flush=True,
    )
    figures: dict = {}
    figures["migrate_s"] = _timed(env, "migrate", "migrate", "--noinput", "-v0")
    figures["orgs_s"] = _timed(env, "orgs load henan", "orgs", "load", "henan", "--villages", str(args.villages))
    _timed(env, "calendar seed", "calendar", "seed")
    _timed(env, "demo accounts", "demo", "accounts")
    plan = (
        _run(
            env,
            __file__,
            "--step",
            "plan",
            "--cases",
            str(args.cases),
            "--seed",
            str(args.seed),
            "--span-days",
            str(args.span_days),
            *(["--no-stats"] if args.no_stats else []),
        )
        .strip()
        .splitlines()[-1]
    )
    (data_dir / "plan.json").write_text(plan)
    figures["load_s"], loaded = _workers(env, args, plan)
    (data_dir / "loaded.json").write_text(json.dumps(loaded))
    print(f"  {'load (all workers)':<34} {figures['load_s']:8.1f} s   (load {_load()})", flush=True)
    began = time.perf_counter()
    finished = json.loads(
        _run(env, __file__, "--step", "finish", "--plan", plan, "--years", json.dumps(loaded["years"]))
        .strip()
        .splitlines()[-1]
    )
    figures["finish_s"] = time.perf_counter() - began
    print(f"  {'finish (rollups, sequences, ANALYZE)':<34} {figures['finish_s']:8.1f} s   (load {_load()})", flush=True)
    total_s = figures["load_s"] + figures["finish_s"]
    cases, prepare = loaded["written"].get("case", 0), loaded["written"].get("prepare_s", 0)
    print()
    print(
        f"cases loaded: {loaded['written'].get('case', 0):,} in {total_s:,.0f} s "
        f"= {loaded['written'].get('case', 0) / total_s:,.0f} cases/s including finish "
        f"({cases / max(figures['load_s'] - prepare, 1e-9):,.0f} cases/s for the workers after their "
        f"{prepare:.0f} s of preparation); load {_load()}"
    )
    if cases < args.cases:
        print(f"stopped by --budget: the newest {cases:,} of the plan's {args.cases:,} cases are loaded")
    for table, count in finished["rows"].items():
        print(f"  {table:<26} {count:>14,}")
    if "db_bytes" in finished:
        print(f"  pg_database_size           {finished['db_bytes'] / 1e9:>13.2f} GB")
    else:
        size = sum(p.stat().st_size for p in data_dir.glob("*.sqlite3*"))
        print(f"  SQLite file(s)             {size / 1e9:>13.2f} GB")
    print(f"MINQING_DATA_DIR={data_dir}" + (f" DATABASE_URL={env['DATABASE_URL']}" if "DATABASE_URL" in env else ""))


if __name__ == "__main__":
    main()
