#!/usr/bin/env python3
"""Statistics at scale: bulk cases → `stats rebuild` → dashboards, search, metrics, PDF, export.

    .venv/bin/python bench/stats_bench.py --cases 100000 --backends sqlite,postgres
    .venv/bin/python bench/stats_bench.py --cases 1000000 --backends postgres --requests 100
    .venv/bin/python bench/stats_bench.py --reuse-db h_province --data-dir /path/with/keys   # already loaded
    .venv/bin/python bench/stats_bench.py --sqlite-path /path/minqing.sqlite3                # already loaded

For each backend: a fresh database loaded by bench/bulk_cases.py's loader (the same Case, Party,
CaseUnit and hash-chained CaseEvent rows the actions write; no ratings). Then `minqing stats
rebuild` builds the rollups and the search index from the events, exactly as in production.
Measured (everything synthetic):
- rebuild time, and an incremental `stats update` with nothing new;
- over HTTP (gunicorn, 2 workers, loopback): the county overview `/stats/`, a township's dashboard,
  the supervision board, and the first page of a keyword search. Each is timed as p50/p95;
- in-process: any metric for any unit and month (random units × months, p95), the county monthly
  PDF (figures + narrative + reportlab), and an xlsx export of every case of one township
  (rows, seconds, peak RSS of the process).
With --reuse-db NAME (PostgreSQL) or --sqlite-path PATH (SQLite) the database is used as it is:
no drop, no load, no `stats rebuild`; `migrate` and `stats update` still run (the update is timed),
and `demo accounts` runs only if the measuring user is missing. --data-dir points at the
MINQING_DATA_DIR the database was loaded with (its field encryption key); it is required unless
FIELD_ENCRYPTION_KEY is set. A fresh load with --keep keeps its data dir and prints where.
--township/--county/--user pick what is measured when the org tree is not Yiyang's.
Every figure line prints the 1-minute load average; the machine is shared.
Targets (issue): dashboards p95 ≤ 200 ms; keyword search first page p95 ≤ 300 ms; metric ≤ 100 ms;
county monthly PDF ≤ 5 s.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
import bulk_cases  # noqa: E402  (the colleague's loader and HTTP helpers)

PG_URL = bulk_cases.PG_URL
SEARCH_WORDS = ("道路", "工资", "补贴", "噪音", "土地", "路灯", "饮水", "拖欠 工资", "村道 积水", "垃圾")
TOWNSHIP = "410327102"


# --- in-process measurements (run inside the target database's environment) ----------------------


def measure_worker(args: argparse.Namespace) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "minqing.settings")
    import django

    django.setup()
    from datetime import date

    from minqing.accounts.models import User
    from minqing.orgs.models import OrgUnit
    from minqing.stats import reports, selectors
    from minqing.stats.export import write_xlsx

    user = User.objects.get(username=args.user)
    units = list(OrgUnit.objects.filter(kind__in=("township", "department", "county")))
    today = selectors.today()
    months = [
        selectors.month_of(date(today.year - (today.month - 1 - i < 0), (today.month - 1 - i) % 12 + 1, 1))
        for i in range(12)
    ]
    rng = random.Random(5)
    times = []
    for _ in range(args.samples):
        unit, month = rng.choice(units), rng.choice(months)
        began = time.perf_counter()
        counters = selectors.counters(selectors.rollups_for(user, unit), month)
        selectors.counters_by(selectors.rollups_for(user, unit), month, "category_id")
        times.append(1000 * (time.perf_counter() - began))
    county = OrgUnit.objects.get(code=args.county)
    last_month = reports.last_completed("month", today)
    began = time.perf_counter()
    figures = reports.build_figures(county, "month", last_month)
    pdf = reports.render_pdf(figures, reports.narrative(figures))
    pdf_s = time.perf_counter() - began
    township = OrgUnit.objects.get(code=args.township)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    began = time.perf_counter()
    path, rows = write_xlsx(selectors.scoped_cases(user, township), unmasked=False)
    export_s = time.perf_counter() - began
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    size = os.path.getsize(path)
    os.remove(path)
    print(
        json.dumps(
            {
                "metric_p50": statistics.median(times),
                "metric_p95": bulk_cases.percentile(times, 0.95),
                "metric_check": counters.received,
                "pdf_s": pdf_s,
                "pdf_bytes": len(pdf),
                "export_rows": rows,
                "export_s": export_s,
                "export_mb": size / 1e6,
                "rss_before_mb": rss_before / 1024,
                "rss_after_mb": rss_after / 1024,
            }
        )
    )


# --- HTTP ---------------------------------------------------------------------------------------------


def _load() -> str:
    return f"load {os.getloadavg()[0]:.1f}"


def measure_http(env: dict[str, str], args: argparse.Namespace) -> dict[str, dict]:
    import requests

    Path(env["MINQING_DATA_DIR"], "static").mkdir(exist_ok=True)
    port = bulk_cases.free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [
            *(str(bulk_cases.BIN / "gunicorn"), "minqing.wsgi", "--bind", f"127.0.0.1:{port}"),
            *("--workers", "2", "--log-level", "warning"),
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    rng = random.Random(3)
    pages = {
        "county overview /stats/": lambda: "/stats/",
        "township dashboard": lambda: f"/stats/unit/{args.township}/",
        "supervision board": lambda: "/stats/supervision/",
        "keyword search, page 1": lambda: f"/stats/query/?q={rng.choice(SEARCH_WORDS)}",
    }
    results: dict[str, dict] = {}
    try:
        for _ in range(100):
            try:
                requests.get(f"{base}/accounts/login/", timeout=2)
                break
            except requests.RequestException:
                time.sleep(0.3)
        session = bulk_cases._login(base, args.user, env.get("DEMO_PASSWORD") or "Minqing@2025")
        for name, url in pages.items():
            for _ in range(5):
                session.get(base + url(), timeout=120)
            times, statuses = [], {}
            for _ in range(args.requests):
                began = time.perf_counter()
                response = session.get(base + url(), timeout=120)
                times.append(1000 * (time.perf_counter() - began))
                statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
            results[name] = {
                "p50": statistics.median(times),
                "p95": bulk_cases.percentile(times, 0.95),
                "statuses": statuses,
                "load": os.getloadavg()[0],
            }
            print(
                f"  {name:<26} p50 {results[name]['p50']:7.1f} ms  p95 {results[name]['p95']:7.1f} ms  {statuses}  "
                + _load(),
                flush=True,
            )
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=30)
    return results


# --- orchestration -------------------------------------------------------------------------------------


def _timed_minqing(env: dict[str, str], *args: str) -> float:
    began = time.perf_counter()
    bulk_cases.minqing(env, *args)
    return time.perf_counter() - began


def _prepare_fresh(backend: str, env: dict[str, str], args: argparse.Namespace) -> dict:
    if backend == "postgres":
        import psycopg

        with psycopg.connect(f"{PG_URL}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{args.database}"')
    for step in (
        ("migrate", "--noinput", "-v0"),
        ("orgs", "load", "yiyang"),
        ("calendar", "seed"),
        ("demo", "accounts"),
    ):
        bulk_cases.minqing(env, *step)
    loader = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "bulk_cases.py"), "--worker", "--cases", str(args.cases), "--seed", "1"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    if loader.returncode:
        raise SystemExit("loader failed")
    loaded = json.loads(loader.stdout.strip().splitlines()[-1])
    figures = {"load_s": loaded["seconds"], "events": loaded["events"]}
    print(
        f"  [{backend}] loaded {args.cases} cases, {loaded['events']} events in {loaded['seconds']:.0f} s  {_load()}",
        flush=True,
    )
    figures["rebuild_s"] = _timed_minqing(env, "stats", "rebuild")
    figures["update_idle_s"] = _timed_minqing(env, "stats", "update")
    print(
        f"  [{backend}] stats rebuild {figures['rebuild_s']:.0f} s; idle update {figures['update_idle_s']:.1f} s  "
        + _load(),
        flush=True,
    )
    return figures


def _prepare_reused(backend: str, env: dict[str, str], args: argparse.Namespace) -> dict:
    bulk_cases.minqing(env, "migrate", "--noinput", "-v0")
    probe = subprocess.run(
        [sys.executable, __file__, "--probe", "--user", args.user],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    if probe.returncode:
        raise SystemExit("probe of the reused database failed")
    found = json.loads(probe.stdout.strip().splitlines()[-1])
    if not found["user"]:
        bulk_cases.minqing(env, "demo", "accounts", "-v0")
    figures = {"cases": found["cases"], "events": found["events"]}
    figures["update_s"] = _timed_minqing(env, "stats", "update")
    print(
        f"  [{backend}] reused: {found['cases']:,} cases, {found['events']:,} events; "
        f"stats update {figures['update_s']:.1f} s  {_load()}",
        flush=True,
    )
    return figures


def probe_worker(args: argparse.Namespace) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "minqing.settings")
    import django

    django.setup()
    from minqing.accounts.models import User
    from minqing.cases.models import Case, CaseEvent

    print(
        json.dumps(
            {
                "user": User.objects.filter(username=args.user).exists(),
                "cases": Case.objects.count(),
                "events": CaseEvent.objects.count(),
            }
        )
    )


def bench_backend(backend: str, args: argparse.Namespace, data_dir: str) -> dict:
    env = {**os.environ, "MINQING_DATA_DIR": data_dir, "DEBUG": "0", "PYTHONUNBUFFERED": "1"}
    env.pop("DATABASE_URL", None)
    reused = bool(args.reuse_db if backend == "postgres" else args.sqlite_path)
    if backend == "postgres":
        env["DATABASE_URL"] = f"{PG_URL}/{args.reuse_db or args.database}"
    elif args.sqlite_path:
        env["DATABASE_URL"] = f"sqlite:///{Path(args.sqlite_path).resolve()}"
    figures = _prepare_reused(backend, env, args) if reused else _prepare_fresh(backend, env, args)
    figures["http"] = measure_http(env, args)
    worker = subprocess.run(
        [
            sys.executable,
            __file__,
            "--measure",
            "--samples",
            "200",
            *("--user", args.user, "--county", args.county, "--township", args.township),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    figures.update(json.loads(worker.stdout.strip().splitlines()[-1]))
    figures["measure_load"] = os.getloadavg()[0]
    print(
        f"  [{backend}] metric p95 {figures['metric_p95']:.1f} ms; PDF {figures['pdf_s']:.2f} s; "
        f"export {figures['export_rows']:,} rows {figures['export_s']:.1f} s  {_load()}",
        flush=True,
    )
    if backend == "postgres" and not reused and not args.keep:
        import psycopg

        with psycopg.connect(f"{PG_URL}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)')
    return figures


def print_table(cases: int, results: dict) -> None:
    s, p = results.get("sqlite", {}), results.get("postgres", {})
    print()
    print(f"{'figure (' + format(cases, ',') + ' cases)':<44} {'SQLite':>10} {'PostgreSQL':>11}  target")
    print("-" * 80)

    def row(label: str, key: str, fmt: str = ".1f", target: str = "", source=None) -> None:
        cells = []
        for figures in (s, p):
            value = (source(figures) if source else figures.get(key)) if figures else None
            cells.append(format(value, fmt) if value is not None else "—")
        print(f"{label:<44} {cells[0]:>10} {cells[1]:>11}  {target}")

    row("cases (reused database)", "cases", ",d")
    row("bulk load, s", "load_s", ".0f")
    row("events", "events", ",d")
    row("stats rebuild (all events), s", "rebuild_s", ".0f")
    row("stats update with nothing new, s", "update_idle_s", ".2f")
    row("stats update of the reused database, s", "update_s", ".1f")
    for page in ("county overview /stats/", "township dashboard", "supervision board", "keyword search, page 1"):
        limit = "≤ 300" if "search" in page else "≤ 200"
        for stat in ("p50", "p95"):
            row(
                f"{page} {stat}, ms",
                "",
                target=limit if stat == "p95" else "",
                source=lambda f, k=page, st=stat: f.get("http", {}).get(k, {}).get(st),
            )
    row("metric for a unit × month p50, ms", "metric_p50")
    row("metric for a unit × month p95, ms", "metric_p95", target="≤ 100")
    row("county monthly PDF (figures + render), s", "pdf_s", ".2f", "≤ 5")
    row("xlsx export of one township, rows", "export_rows", ",d")
    row("xlsx export, s", "export_s", ".1f")
    row("xlsx export, file MB", "export_mb", ".1f")
    row("process peak RSS before export, MB", "rss_before_mb", ".0f")
    row("process peak RSS after export, MB", "rss_after_mb", ".0f")
    row(
        "load average during HTTP (last page)",
        "",
        source=lambda f: f.get("http", {}).get("keyword search, page 1", {}).get("load"),
    )
    row("load average after in-process figures", "measure_load")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--database", default="bench_stats")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--reuse-db", default="", metavar="NAME", help="PostgreSQL database already loaded: no load")
    parser.add_argument("--sqlite-path", default="", metavar="PATH", help="SQLite file already loaded: no load")
    parser.add_argument("--data-dir", default="", help="MINQING_DATA_DIR of the reused database (its keys)")
    parser.add_argument("--user", default="county_manager", help="who logs in and is measured")
    parser.add_argument("--county", default="410327", help="unit code of the monthly PDF")
    parser.add_argument("--township", default=TOWNSHIP, help="unit code of the unit dashboard and export")
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--probe", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--samples", type=int, default=200, help=argparse.SUPPRESS)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    if args.measure:
        measure_worker(args)
        return
    if args.probe:
        probe_worker(args)
        return
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    if args.reuse_db or args.sqlite_path:
        backends = (["sqlite"] if args.sqlite_path else []) + (["postgres"] if args.reuse_db else [])
    size = "reused database(s)" if args.reuse_db or args.sqlite_path else f"{args.cases:,} cases"
    print(f"stats benchmark: {size}; machine: {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}")
    if (args.reuse_db or args.sqlite_path) and not (args.data_dir or os.environ.get("FIELD_ENCRYPTION_KEY")):
        raise SystemExit("a reused database needs --data-dir (the MINQING_DATA_DIR it was loaded with: its keys)")
    results = {}
    for backend in backends:
        print(f"{backend}:", flush=True)
        if args.data_dir or args.keep:
            data_dir = args.data_dir or tempfile.mkdtemp(prefix=f"minqing-stats-{backend}-")
            Path(data_dir).mkdir(parents=True, exist_ok=True)
            print(f"  data dir (keys, SQLite file): {data_dir}", flush=True)
            results[backend] = bench_backend(backend, args, data_dir)
            continue
        with tempfile.TemporaryDirectory(prefix=f"minqing-stats-{backend}-") as temp:
            results[backend] = bench_backend(backend, args, temp)
    cases = max((r.get("cases", 0) for r in results.values()), default=0) or args.cases
    print_table(cases, results)


if __name__ == "__main__":
    main()
