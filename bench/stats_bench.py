#!/usr/bin/env python3
"""Statistics at scale: bulk cases → `stats rebuild` → dashboards, search, metrics, PDF, export.

    .venv/bin/python bench/stats_bench.py --cases 100000 --backends sqlite,postgres
    .venv/bin/python bench/stats_bench.py --cases 1000000 --backends postgres --requests 100

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

    user = User.objects.get(username="county_manager")
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
    county = OrgUnit.objects.get(code="410327")
    last_month = reports.last_completed("month", today)
    began = time.perf_counter()
    figures = reports.build_figures(county, "month", last_month)
    pdf = reports.render_pdf(figures, reports.narrative(figures))
    pdf_s = time.perf_counter() - began
    township = OrgUnit.objects.get(code=TOWNSHIP)
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
                "metric_p95": bulk_cases._percentile(times, 0.95),
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


def measure_http(env: dict[str, str], requests_per_page: int) -> dict[str, dict]:
    import requests

    Path(env["MINQING_DATA_DIR"], "static").mkdir(exist_ok=True)
    port = bulk_cases._free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [str(bulk_cases.BIN / "gunicorn"), "minqing.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "2"],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    rng = random.Random(3)
    pages = {
        "county overview /stats/": lambda: "/stats/",
        "township dashboard": lambda: f"/stats/unit/{TOWNSHIP}/",
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
        session = bulk_cases._login(base, "county_manager", env.get("DEMO_PASSWORD") or "Minqing@2025")
        for name, url in pages.items():
            for _ in range(5):
                session.get(base + url(), timeout=120)
            times, statuses = [], {}
            for _ in range(requests_per_page):
                began = time.perf_counter()
                response = session.get(base + url(), timeout=120)
                times.append(1000 * (time.perf_counter() - began))
                statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
            results[name] = {
                "p50": statistics.median(times),
                "p95": bulk_cases._percentile(times, 0.95),
                "statuses": statuses,
            }
            print(
                f"  {name:<26} p50 {results[name]['p50']:7.1f} ms  p95 {results[name]['p95']:7.1f} ms  {statuses}",
                flush=True,
            )
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=30)
    return results


# --- orchestration -------------------------------------------------------------------------------------


def _timed_minqing(env: dict[str, str], *args: str) -> float:
    began = time.perf_counter()
    bulk_cases._minqing(env, *args)
    return time.perf_counter() - began


def bench_backend(backend: str, args: argparse.Namespace, data_dir: str) -> dict:
    env = {**os.environ, "MINQING_DATA_DIR": data_dir, "DEBUG": "0", "PYTHONUNBUFFERED": "1"}
    env.pop("DATABASE_URL", None)
    if backend == "postgres":
        import psycopg

        env["DATABASE_URL"] = f"{PG_URL}/{args.database}"
        with psycopg.connect(f"{PG_URL}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{args.database}"')
    for step in (
        ("migrate", "--noinput", "-v0"),
        ("orgs", "load", "yiyang"),
        ("calendar", "seed"),
        ("demo", "accounts"),
    ):
        bulk_cases._minqing(env, *step)
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
        f"  [{backend}] loaded {args.cases} cases, {loaded['events']} events in {loaded['seconds']:.0f} s", flush=True
    )
    figures["rebuild_s"] = _timed_minqing(env, "stats", "rebuild")
    figures["update_idle_s"] = _timed_minqing(env, "stats", "update")
    print(
        f"  [{backend}] stats rebuild {figures['rebuild_s']:.0f} s; idle update {figures['update_idle_s']:.1f} s",
        flush=True,
    )
    figures["http"] = measure_http(env, args.requests)
    worker = subprocess.run(
        [sys.executable, __file__, "--measure", "--samples", "200"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    figures.update(json.loads(worker.stdout.strip().splitlines()[-1]))
    if backend == "postgres" and not args.keep:
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

    row("bulk load, s", "load_s", ".0f")
    row("events", "events", ",d")
    row("stats rebuild (all events), s", "rebuild_s", ".0f")
    row("stats update with nothing new, s", "update_idle_s", ".2f")
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--database", default="bench_stats")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--samples", type=int, default=200, help=argparse.SUPPRESS)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    if args.measure:
        measure_worker(args)
        return
    print(f"stats benchmark: {args.cases:,} cases; machine: {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}")
    results = {}
    for backend in [b.strip() for b in args.backends.split(",") if b.strip()]:
        print(f"{backend}:", flush=True)
        with tempfile.TemporaryDirectory(prefix=f"minqing-stats-{backend}-") as data_dir:
            results[backend] = bench_backend(backend, args, data_dir)
    print_table(args.cases, results)


if __name__ == "__main__":
    main()
