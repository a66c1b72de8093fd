#!/usr/bin/env python3
"""Bulk-load N cases, then time the case console over HTTP on loopback (p50/p95).

    .venv/bin/python bench/bulk_cases.py --cases 100000                  # PostgreSQL, validate first
    .venv/bin/python bench/bulk_cases.py                                  # PostgreSQL, 1,000,000 cases
    .venv/bin/python bench/bulk_cases.py --cases 100000 --backends sqlite,postgres

For each backend: a fresh database (PostgreSQL: a new database on 127.0.0.1:5432; SQLite: a
temporary MINQING_DATA_DIR), `migrate`, `orgs load yiyang`, `calendar seed`, `demo accounts`,
then a loader writes the same rows the actions would: Case, Party (encrypted phone and ID
number, drawn from a few hundred precomputed ciphertexts), CaseUnit and CaseEvent with a
valid hash chain per case (COPY on PostgreSQL, executemany on SQLite). No notifications.

Then gunicorn (`minqing.wsgi`, 2 workers, a free port) serves that database; a township
handler (liuquan_handler) and the dispatcher log in through the login form and GET the inbox
`/cases/inbox/`, the case list `/cases/` and case details `/cases/<id>/`, 200 times each.
Target: p95 ≤ 50 ms for each page with 1,000,000 cases on PostgreSQL. Everything is synthetic.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PG_URL = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432")
PAGES = ("inbox", "list", "detail")
USERS = ("liuquan_handler", "dispatcher")
HANDLER_TOWNSHIP = "410327102"


# --- loader (runs inside the target database's environment) ------------------------------


class Loader:
    def __init__(self, total: int, seed: int, chunk: int = 5000) -> None:
        from django.db import connection

        self.connection = connection
        self.vendor = connection.vendor
        self.total, self.chunk = total, chunk
        self.rng = random.Random(seed)

    def prepare(self) -> None:
        from django.conf import settings

        from minqing.accounts.models import User
        from minqing.cases.models import Case, CaseEvent, CaseUnit, Category, Party
        from minqing.core import crypto
        from minqing.demo.texts import TextFactory
        from minqing.orgs.models import OrgUnit, UnitKind

        self.models = {"case": Case, "party": Party, "unit": CaseUnit, "event": CaseEvent}
        units = list(OrgUnit.objects.filter(active=True))
        self.villages = [u for u in units if u.kind == UnitKind.VILLAGE]
        by_pk = {u.pk: u for u in units}
        self.township_of = {v.pk: by_pk[v.parent_id] for v in self.villages}
        self.departments = [u for u in units if u.kind == UnitKind.DEPARTMENT]
        categories = list(Category.objects.filter(parent__isnull=False).select_related("parent"))
        self.users = {u.username: u for u in User.objects.filter(username__in=["dispatcher", "liuquan_handler"])}
        self.prefix = settings.MINQING_CASE_PREFIX
        texts = TextFactory(seed=7)
        # Texts per village (a pool, reused): title, content, category, short.
        self.texts: dict[int, list] = {}
        today = datetime.now(UTC).date()
        for village in self.villages:
            pool = []
            for _ in range(12):
                category = self.rng.choice(categories)
                text = texts.case_text(
                    level1=category.parent.name,
                    level2=category.name,
                    village=village.name,
                    township=self.township_of[village.pk].name,
                    on=today,
                )
                pool.append((text.title, text.content, category.pk, text.short))
            self.texts[village.pk] = pool
        people = [texts.person("某村", "某镇") for _ in range(300)]
        self.people = [
            (
                p.name,
                crypto.encrypt(p.phone),
                crypto.lookup_hash(p.phone),
                crypto.encrypt(p.id_number),
                crypto.lookup_hash(p.id_number),
                p.address,
            )
            for p in people
        ]
        self.replies = [texts.reply(o, short="相关问题", unit="承办单位", village="本村") for o in ("supported",) * 30]
        self.columns = {key: [f for f in model._meta.concrete_fields] for key, model in self.models.items()}
        self.next_id = {
            key: (model.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1
            for key, model in self.models.items()
        }
        self.counters: dict[int, int] = {}

    # Values in model-field order, defaults for anything not given.
    def _row(self, key: str, values: dict) -> tuple:
        row = []
        for f in self.columns[key]:
            if f.attname in values:
                value = values[f.attname]
            elif f.has_default():
                value = f.get_default()
            else:
                value = None
            row.append(value)
        return tuple(row)

    def _adapt(self, value):
        if self.vendor == "sqlite":
            if isinstance(value, datetime):
                return value.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")
            if isinstance(value, bool):
                return int(value)
        if isinstance(value, dict | list):
            return json.dumps(value, ensure_ascii=False)
        return value

    def _case(self, submitted: datetime, age_days: float) -> tuple[dict, list[dict], list[dict], dict | None]:
        from minqing.cases.models import event_chain_record
        from minqing.core.hashchain import GENESIS, link_hash

        rng = self.rng
        case_id = self.next_id["case"]
        self.next_id["case"] += 1
        village = rng.choice(self.villages)
        township = self.township_of[village.pk]
        title, content, category_id, _ = rng.choice(self.texts[village.pk])
        year = submitted.astimezone(UTC).year
        self.counters[year] = self.counters.get(year, 0) + 1
        lead = township if rng.random() < 0.6 else rng.choice(self.departments)
        # State by age: older cases are done, recent ones at every stage.
        roll = rng.random()
        if age_days > 40:
            state = "closed" if roll < 0.965 else "declined" if roll < 0.985 else "in_progress"
        else:
            stages = ("submitted", "accepted", "assigned", "in_progress", "replied", "closed")
            state = stages[min(int(age_days / 4 * rng.uniform(0.6, 1.4)), len(stages) - 1)]
            if roll < 0.02:
                state = "declined"
        plan = ["register"]
        if state == "declined":
            plan.append("decline")
        else:
            order = ["accept", "assign", "sign_for", "reply", "close"]
            reached = {"submitted": 0, "accepted": 1, "assigned": 2, "in_progress": 3, "replied": 4, "closed": 5}[state]
            plan += order[:reached]
        times = {"register": submitted}
        at = submitted
        gaps = {"accept": 3, "decline": 20, "assign": 0.5, "sign_for": 12, "reply": 24 * 5, "close": 30}
        for action in plan[1:]:
            at = at + timedelta(hours=gaps[action] * rng.uniform(0.3, 2.0))
            times[action] = at
        accepted = times.get("accept")
        handle_due = accepted + timedelta(days=21) if accepted else None
        reference = f"{self.prefix}{year}-{self.counters[year]:06d}"
        if self.counters[year] > 999_999:
            reference = f"{self.prefix}{year}-{self.counters[year]:07d}"
        dispatcher, handler = self.users["dispatcher"], self.users["liuquan_handler"]
        unit_actor = (handler.pk, handler.username) if lead.code == HANDLER_TOWNSHIP else (None, f"h_{lead.code}")
        transitions = {
            "register": (
                "",
                "submitted",
                (dispatcher.pk, dispatcher.username),
                {"channel": "wechat", "attachments": 0},
            ),
            "accept": ("submitted", "accepted", (dispatcher.pk, dispatcher.username), {"category": category_id}),
            "decline": ("submitted", "declined", (dispatcher.pk, dispatcher.username), {"reason": "不属于受理范围"}),
            "assign": ("accepted", "assigned", (dispatcher.pk, dispatcher.username), {"lead_unit": lead.code}),
            "sign_for": ("assigned", "in_progress", unit_actor, {}),
            "reply": ("in_progress", "replied", unit_actor, {"outcome": "supported"}),
            "close": ("replied", "closed", (dispatcher.pk, dispatcher.username), {"note": ""}),
        }
        events, previous = [], GENESIS
        for seq, action in enumerate(plan, start=1):
            from_state, to_state, (actor_id, label), payload = transitions[action]
            created = times[action].astimezone(UTC)
            record = event_chain_record(case_id, seq, created, label, action, from_state, to_state, payload)
            digest = link_hash(previous, record)
            events.append(
                {
                    "id": self.next_id["event"],
                    "case_id": case_id,
                    "seq": seq,
                    "created_at": created,
                    "actor_id": actor_id,
                    "actor_label": label,
                    "action": action,
                    "from_state": from_state,
                    "to_state": to_state,
                    "payload": payload,
                    "prev_hash": previous,
                    "hash": digest,
                }
            )
            self.next_id["event"] += 1
            previous = digest
        assigned = "assign" in times
        case = {
            "id": case_id,
            "reference": reference,
            "query_code": f"{rng.randrange(10**6):06d}",
            "channel": rng.choice(("wechat", "wechat", "wechat", "informant", "phone", "walk_in", "app")),
            "nature": "claim",
            "request_type": "help",
            "category_id": category_id,
            "title": title,
            "content": content,
            "location_unit_id": village.pk,
            "location_path": village.path,
            "address": f"{township.name}{village.name}",
            "urgency": "normal",
            "group_size": 1,
            "is_anonymous": False,
            "state": state,
            "version": len(plan) - 1,
            "lead_unit_id": lead.pk if assigned else None,
            "lead_path": lead.path if assigned else "",
            "submitted_by_id": dispatcher.pk,
            "submitted_at": submitted,
            "accepted_at": accepted,
            "assigned_at": times.get("assign"),
            "signed_at": times.get("sign_for"),
            "replied_at": times.get("reply"),
            "closed_at": times.get("close") or times.get("decline"),
            "accept_due": submitted + timedelta(days=5),
            "handle_due": handle_due,
            "handle_due_original": handle_due,
            "outcome": "supported" if "reply" in times else "",
            "reply_text": rng.choice(self.replies) if "reply" in times else "",
            "decline_reason": "不属于受理范围" if state == "declined" else "",
            "event_count": len(plan),
            "last_event_hash": previous,
            "created_at": submitted,
            "updated_at": at,
        }
        name, phone_enc, phone_hash, id_enc, id_hash, address = rng.choice(self.people)
        party = {
            "id": self.next_id["party"],
            "case_id": case_id,
            "name": name,
            "id_number_encrypted": id_enc,
            "id_number_hash": id_hash,
            "phone_encrypted": phone_enc,
            "phone_hash": phone_hash,
            "address": address,
            "is_primary": True,
        }
        self.next_id["party"] += 1
        link = None
        if assigned:
            link = {
                "id": self.next_id["unit"],
                "case_id": case_id,
                "unit_id": lead.pk,
                "unit_path": lead.path,
                "role": "lead",
                "active": True,
                "assigned_at": times["assign"],
                "signed_at": times.get("sign_for"),
            }
            self.next_id["unit"] += 1
        return case, [party], events, link

    def _write(self, key: str, rows: list[dict]) -> None:
        if not rows:
            return
        model = self.models[key]
        table = model._meta.db_table
        names = [f.column for f in self.columns[key]]
        tuples = [tuple(self._adapt(v) for v in self._row(key, r)) for r in rows]
        with self.connection.cursor() as cursor:
            if self.vendor == "postgresql":
                raw = cursor.cursor
                with raw.copy(f"COPY {table} ({', '.join(names)}) FROM STDIN") as copy:
                    for row in tuples:
                        copy.write_row(row)
            else:
                marks = ", ".join(["%s"] * len(names))
                cursor.executemany(f"INSERT INTO {table} ({', '.join(names)}) VALUES ({marks})", tuples)

    def run(self) -> dict:
        from django.db import transaction

        started = time.perf_counter()
        self.prepare()
        now = datetime.now(UTC)
        span_days = max(365.0, self.total / 900)  # about 900 a day: a large county, or a city
        written = {"case": 0, "event": 0}
        handler_ids, any_ids = [], []
        done = 0
        while done < self.total:
            batch = min(self.chunk, self.total - done)
            cases, parties, events, links = [], [], [], []
            for i in range(batch):
                age = span_days * (1 - (done + i) / self.total)
                submitted = now - timedelta(days=age, seconds=self.rng.randrange(86400))
                case, party, case_events, link = self._case(submitted, age)
                cases.append(case)
                parties += party
                events += case_events
                if link:
                    links.append(link)
                    if case["lead_path"].endswith(f"/{HANDLER_TOWNSHIP}/") and len(handler_ids) < 5000:
                        handler_ids.append(case["id"])
                if len(any_ids) < 5000 and self.rng.random() < 0.01:
                    any_ids.append(case["id"])
            with transaction.atomic():
                self._write("case", cases)
                self._write("party", parties)
                self._write("unit", links)
                self._write("event", events)
            done += batch
            written["case"] += len(cases)
            written["event"] += len(events)
            if done % (self.chunk * 20) == 0 or done == self.total:
                rate = done / (time.perf_counter() - started)
                print(f"  loaded {done}/{self.total} cases ({rate:.0f}/s)", file=sys.stderr, flush=True)
        self._finish()
        self._verify_sample(any_ids[:50] + handler_ids[:50])
        return {
            "seconds": time.perf_counter() - started,
            "cases": written["case"],
            "events": written["event"],
            "handler_ids": handler_ids,
            "any_ids": any_ids,
        }

    def _verify_sample(self, case_ids: list[int]) -> None:
        """The loaded chains must verify exactly as the actions' chains do."""
        from minqing.cases.audit import _check
        from minqing.cases.models import CaseEvent

        for case_id in case_ids:
            problem = _check(list(CaseEvent.objects.filter(case_id=case_id).order_by("seq")))
            if problem:
                raise SystemExit(f"case {case_id}: broken chain {problem}")

    def _finish(self) -> None:
        from minqing.cases.numbering import raise_floor

        for year, count in self.counters.items():
            raise_floor(self.prefix, year, count)
        with self.connection.cursor() as cursor:
            if self.vendor == "postgresql":
                for model in self.models.values():
                    table = model._meta.db_table
                    cursor.execute(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))"
                    )
                    cursor.execute(f"ANALYZE {table}")
            else:
                cursor.execute("ANALYZE")


def load_worker(args: argparse.Namespace) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "minqing.settings")
    import django

    django.setup()
    result = Loader(args.cases, args.seed).run()
    print(json.dumps(result))


# --- HTTP measurement ------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _login(base: str, username: str, password: str):
    import requests

    session = requests.Session()
    page = session.get(f"{base}/accounts/login/", timeout=30)
    token = session.cookies.get("csrftoken", "")
    if "csrfmiddlewaretoken" in page.text:
        token = page.text.split('name="csrfmiddlewaretoken" value="', 1)[1].split('"', 1)[0]
    response = session.post(
        f"{base}/accounts/login/",
        data={"username": username, "password": password, "csrfmiddlewaretoken": token, "next": "/cases/"},
        headers={"Referer": f"{base}/accounts/login/"},
        timeout=30,
        allow_redirects=False,
    )
    if response.status_code not in (301, 302):
        raise SystemExit(f"login as {username} failed: HTTP {response.status_code}")
    return session


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def measure_http(env: dict[str, str], ids: dict[str, list[int]], requests_per_page: int) -> dict[str, dict]:
    Path(env["MINQING_DATA_DIR"], "static").mkdir(exist_ok=True)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [
            str(BIN / "gunicorn"),
            "minqing.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    results: dict[str, dict] = {}
    try:
        import requests

        for _ in range(100):
            try:
                requests.get(f"{base}/accounts/login/", timeout=2)
                break
            except requests.RequestException:
                time.sleep(0.3)
        password = env.get("DEMO_PASSWORD") or "Minqing@2025"
        rng = random.Random(3)
        for username in USERS:
            session = _login(base, username, password)
            detail_ids = ids["handler_ids" if username == "liuquan_handler" else "any_ids"] or [1]
            urls = {"inbox": lambda: "/cases/inbox/", "list": lambda: "/cases/"}
            urls["detail"] = lambda pool=detail_ids: f"/cases/{rng.choice(pool)}/"
            for page in PAGES:
                for _ in range(10):  # warm-up: connections, template cache
                    session.get(base + urls[page](), timeout=60)
                times, statuses = [], {}
                for _ in range(requests_per_page):
                    url = base + urls[page]()
                    began = time.perf_counter()
                    response = session.get(url, timeout=60)
                    times.append(1000 * (time.perf_counter() - began))
                    statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
                results[f"{username} {page}"] = {
                    "p50": statistics.median(times),
                    "p95": percentile(times, 0.95),
                    "statuses": statuses,
                    "bytes": len(response.content),
                }
                print(
                    f"  {username:<16} {page:<7} p50 {results[f'{username} {page}']['p50']:7.1f} ms  "
                    f"p95 {results[f'{username} {page}']['p95']:7.1f} ms  HTTP {statuses}",
                    flush=True,
                )
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    return results


# --- orchestration ----------------------------------------------------------------------------


def minqing(env: dict[str, str], *args: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "minqing.cli", *args], cwd=ROOT, env=env, capture_output=True, text=True
    )
    if done.returncode:
        sys.stderr.write(done.stdout[-3000:] + done.stderr[-3000:])
        raise SystemExit(f"failed: minqing {' '.join(args)}")


def bench_backend(backend: str, args: argparse.Namespace, data_dir: str) -> dict:
    import psycopg

    db_name = args.database
    env = {**os.environ, "MINQING_DATA_DIR": data_dir, "DEBUG": "0", "PYTHONUNBUFFERED": "1"}
    env.pop("DATABASE_URL", None)
    if backend == "postgres":
        env["DATABASE_URL"] = f"{PG_URL}/{db_name}"
        if not args.reuse:
            with psycopg.connect(f"{PG_URL}/postgres", autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
                conn.execute(f'CREATE DATABASE "{db_name}"')
    ids_file = Path(data_dir) / f"ids-{backend}.json"
    figures: dict = {}
    if not (args.reuse and ids_file.exists()):
        began = time.perf_counter()
        for step in (("migrate", "--noinput", "-v0"), ("orgs", "load", "yiyang"), ("calendar", "seed")):
            minqing(env, *step)
        minqing(env, "demo", "accounts")
        print(f"  [{backend}] setup {time.perf_counter() - began:.1f} s; loading {args.cases} cases", flush=True)
        done = subprocess.run(
            [sys.executable, __file__, "--worker", "--cases", str(args.cases), "--seed", str(args.seed)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        if done.returncode:
            raise SystemExit("loader failed")
        loaded = json.loads(done.stdout.strip().splitlines()[-1])
        ids_file.write_text(json.dumps(loaded))
        figures["load_s"] = loaded["seconds"]
        figures["events"] = loaded["events"]
        print(
            f"  [{backend}] loaded {loaded['cases']} cases, {loaded['events']} events in {loaded['seconds']:.0f} s",
            flush=True,
        )
    loaded = json.loads(ids_file.read_text())
    figures["http"] = measure_http(env, loaded, args.requests)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--backends", default="postgres", help="comma-separated: postgres,sqlite (default postgres)")
    parser.add_argument("--requests", type=int, default=200, help="timed requests per page and user (default 200)")
    parser.add_argument("--database", default="bench_bulk_cases", help="PostgreSQL database name")
    parser.add_argument("--data-dir", default="", help="keep keys, SQLite file and ids here (default: a temp dir)")
    parser.add_argument("--reuse", action="store_true", help="reuse a database loaded earlier (needs --data-dir)")
    parser.add_argument("--keep", action="store_true", help="keep the PostgreSQL database afterwards")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    if args.worker:
        load_worker(args)
        return
    backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    print(f"bulk cases benchmark: {args.cases} cases, {args.requests} requests per page and user")
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    results = {}
    for backend in backends:
        print(f"{backend}:", flush=True)
        with tempfile.TemporaryDirectory(prefix=f"minqing-bulk-{backend}-") as temp:
            data_dir = str(Path(args.data_dir) / backend) if args.data_dir else temp
            Path(data_dir).mkdir(parents=True, exist_ok=True)
            try:
                results[backend] = bench_backend(backend, args, data_dir)
            finally:
                if backend == "postgres" and not args.keep:
                    import psycopg

                    with psycopg.connect(f"{PG_URL}/postgres", autocommit=True) as conn:
                        conn.execute(f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)')
    s, p = results.get("sqlite", {}), results.get("postgres", {})
    print()
    print(f"{'figure (' + str(args.cases) + ' cases)':<40} {'SQLite':>10} {'PostgreSQL':>11} {'PG/SQLite':>10}")
    print("-" * 74)

    def row(label: str, a: float | None, b: float | None, fmt: str = ".1f") -> None:
        ratio = f"{b / a:.2f}" if a and b else "—"
        cells = [format(v, fmt) if v is not None else "—" for v in (a, b)]
        print(f"{label:<40} {cells[0]:>10} {cells[1]:>11} {ratio:>10}")

    row("bulk load, s", s.get("load_s"), p.get("load_s"), ".0f")
    row("bulk load, cases per s", _rate(args.cases, s.get("load_s")), _rate(args.cases, p.get("load_s")), ".0f")
    for user in USERS:
        for page in PAGES:
            key = f"{user} {page}"
            for stat in ("p50", "p95"):
                row(
                    f"{key} {stat}, ms",
                    s.get("http", {}).get(key, {}).get(stat),
                    p.get("http", {}).get(key, {}).get(stat),
                )
    print("target: p95 ≤ 50 ms per page with 1,000,000 cases on PostgreSQL")


def _rate(n: int, seconds: float | None) -> float | None:
    return n / seconds if seconds else None


if __name__ == "__main__":
    main()
