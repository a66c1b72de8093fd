#!/usr/bin/env python3
"""API intake vs a bare insert: requests/s and p50/p95 on PostgreSQL under gunicorn, with and without a 1 MB photo.

    .venv/bin/python bench/api_intake.py                          # 8 client threads, 3 rounds of 10 s per scenario
    .venv/bin/python bench/api_intake.py --seconds 20 --rounds 2
    .venv/bin/python bench/api_intake.py --profile 300            # then cProfile 300 submissions in-process

A fresh PostgreSQL database (bench_intake_<pid> on 127.0.0.1:5432, dropped afterwards) gets `migrate`,
`orgs load yiyang`, `calendar seed` and `demo accounts`; then one citizen per client thread with an
API token, a pool of realistic case texts over Yiyang's villages, and a `bench_bare` table created
with raw SQL. gunicorn (`minqing.wsgi`, 2 sync workers, a free loopback port) serves the project with
`DJANGO_SETTINGS_MODULE=bench.bench_settings`: the project's settings and URLs, plus
`POST /bench/bare/` (bench/bench_urls.py), which parses the body and INSERTs one row. The API rate
limits are raised out of reach there.

Four scenarios, run in interleaved phases against the same server (bare, full, bare+photo,
full+photo, repeated for each round), each by N threads with one HTTP connection each:

1. bare:        POST /bench/bare/ with the same JSON body as a submission
2. full:        POST /api/v1/cases (Bearer token, a fresh Idempotency-Key per request)
3. bare+photo:  POST /bench/bare/ multipart with the 1 MB JPEG
4. full+photo:  POST /api/v1/cases then POST /api/v1/cases/{reference}/attachments with the 1 MB JPEG,
                timed as one submission

Only 201 (200 for the upload) counts; anything else is an error and is reported. Target: full/bare ≥ 0.50.
"""

from __future__ import annotations

import argparse
import http.client
import io
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PG_URL = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432")
SCENARIOS = ("bare", "full", "bare+photo", "full+photo")
BOUNDARY = "----minqingbench7MA4YWxkTrZu0gW"
CITIZEN_PHONE = "1390000{:04d}"


# --- setup and profiling workers (run inside the target database's environment) -------------


def setup_worker(threads: int, pool: int, seed: int) -> None:
    """Citizens with tokens, a pool of submission bodies, the bench_bare table; prints JSON."""
    import django

    django.setup()
    from django.db import connection
    from django.utils import timezone

    from minqing.accounts.actions import get_or_create_citizen
    from minqing.api.tokens import issue_token
    from minqing.cases.models import Category
    from minqing.demo.texts import TextFactory
    from minqing.orgs.models import OrgUnit, UnitKind

    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS bench_bare"
            " (id bigserial PRIMARY KEY, payload text, created_at timestamptz DEFAULT now())"
        )
    rng = random.Random(seed)
    texts = TextFactory(seed=seed)
    tokens = []
    for i in range(threads):
        person = texts.person("某村", "某镇")
        citizen = get_or_create_citizen(CITIZEN_PHONE.format(i), name=person.name)
        tokens.append(issue_token(citizen, "bench api_intake")[1])
    villages = list(OrgUnit.objects.filter(kind=UnitKind.VILLAGE, active=True).select_related("parent"))
    categories = list(Category.objects.filter(parent__isnull=False, active=True).select_related("parent"))
    today = timezone.localdate()
    bodies = []
    for _ in range(pool):
        village, category = rng.choice(villages), rng.choice(categories)
        text = texts.case_text(
            level1=category.parent.name,
            level2=category.name,
            village=village.name,
            township=village.parent.name,
            on=today,
        )
        body = {
            "category_id": category.pk,
            "title": text.title[:120],
            "content": text.content[:5000],
            "township": village.parent.code,
            "village": village.code,
            "address": f"{village.parent.name}{village.name}{rng.randint(1, 12)}组",
            "anonymous": False,
            "name": texts.person(village.name, village.parent.name).name,
        }
        if rng.random() < 0.4:
            body["latitude"] = round(33.9 + rng.random() * 0.5, 6)
            body["longitude"] = round(111.3 + rng.random() * 0.5, 6)
        bodies.append(body)
    print(json.dumps({"tokens": tokens, "bodies": bodies, "villages": len(villages), "categories": len(categories)}))


def profile_worker(count: int, photo_path: str, top: int) -> None:
    """cProfile `count` submissions (and as many 1 MB photo uploads) through django.test.Client, in-process."""
    import cProfile
    import pstats

    import django

    django.setup()
    from django.db import connection
    from django.test import Client

    from minqing.accounts.models import User
    from minqing.api.tokens import issue_token

    citizen = User.objects.get_citizen_by_phone(CITIZEN_PHONE.format(0))
    _token, secret = issue_token(citizen, "bench profile")
    bodies = json.loads(os.environ["BENCH_PROFILE_BODIES"])
    photo = Path(photo_path).read_bytes()
    client = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")

    def submit(i: int) -> str:
        response = client.post(
            "/api/v1/cases",
            data=json.dumps(bodies[i % len(bodies)], ensure_ascii=False),
            content_type="application/json",
            HTTP_IDEMPOTENCY_KEY=f"prof-{uuid.uuid4().hex}",
        )
        if response.status_code != 201:
            raise SystemExit(f"profile submit: HTTP {response.status_code} {response.content[:300]!r}")
        return response.json()["reference"]

    def upload(reference: str) -> None:
        response = client.post(
            f"/api/v1/cases/{reference}/attachments",
            data={"files": _NamedBytes(photo, "photo.jpg"), "text": "现场照片"},
            HTTP_IDEMPOTENCY_KEY=f"prof-{uuid.uuid4().hex}",
        )
        if response.status_code != 200:
            raise SystemExit(f"profile upload: HTTP {response.status_code} {response.content[:300]!r}")

    statements: list[tuple[float, str]] = []

    def capture(execute, sql, params, many, context):
        began = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            statements.append((time.perf_counter() - began, sql))

    for i in range(20):  # warm-up: imports, caches, connection
        upload(submit(i))
    references = [submit(i) for i in range(2 * count)]  # cases for the upload runs, not timed
    runs = (
        ("submission (POST /api/v1/cases)", submit, list(range(count)), list(range(count, 2 * count))),
        ("1 MB photo upload", upload, references[:count], references[count:]),
    )
    for label, call, plain_args, profiled_args in runs:
        statements.clear()
        with connection.execute_wrapper(capture):
            call(plain_args[0])
        one = list(statements)
        started = time.perf_counter()
        for argument in plain_args[1:]:
            call(argument)
        plain_ms = 1000 * (time.perf_counter() - started) / (len(plain_args) - 1)
        profiler = cProfile.Profile()
        started = time.perf_counter()
        profiler.enable()
        for argument in profiled_args:
            call(argument)
        profiler.disable()
        profiled_ms = 1000 * (time.perf_counter() - started) / len(profiled_args)
        print(
            f"\n=== {label}, in-process (django.test.Client, one thread): {plain_ms:.2f} ms each without the "
            f"profiler, {profiled_ms:.2f} ms under cProfile; {len(one)} SQL statements, "
            f"{1000 * sum(t for t, _ in one):.2f} ms in execute ==="
        )
        for title, sort, restriction in (
            ("by own time", "tottime", ()),
            ("by cumulative time", "cumulative", ()),
            ("by cumulative time, project code only", "cumulative", ("/src/minqing/",)),
        ):
            stream = io.StringIO()
            pstats.Stats(profiler, stream=stream).sort_stats(sort).print_stats(*restriction, top)
            lines = stream.getvalue().splitlines()
            first = next((n for n, line in enumerate(lines) if line.lstrip().startswith("ncalls")), 0)
            print(f"--- top {top} {title} (seconds over {len(profiled_args)} requests) ---")
            shown = (re.sub(r"\S*/site-packages/|" + re.escape(f"{ROOT}/"), "", line) for line in lines[first:])
            print("\n".join(line[:200] for line in list(shown)[: top + 1]))
        print("--- SQL statements of one request ---")
        for seconds, sql in one:
            print(f"  {seconds * 1000:6.2f} ms  {' '.join(sql.split())[:170]}")


class _NamedBytes(io.BytesIO):
    def __init__(self, data: bytes, name: str) -> None:
        super().__init__(data)
        self.name = name


# --- load generator ---------------------------------------------------------------------------


def make_photo(path: Path, target: int = 1_000_000) -> bytes:
    """A real JPEG of about `target` bytes: noise does not compress away."""
    from PIL import Image

    rng = random.Random(11)
    side = 560
    while True:
        noise = bytes(rng.getrandbits(8) for _ in range(side * side * 3))
        image = Image.frombytes("RGB", (side, side), noise)
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=80)
        data = buffer.getvalue()
        if len(data) >= target * 0.97:
            path.write_bytes(data)
            return data
        side = int(side * (target / len(data)) ** 0.5) + 8


def multipart(photo: bytes, text: str) -> bytes:
    return b"".join(
        [
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="text"\r\n\r\n{text}\r\n'.encode(),
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="files"; filename="photo.jpg"\r\n'
            "Content-Type: image/jpeg\r\n\r\n".encode(),
            photo,
            f"\r\n--{BOUNDARY}--\r\n".encode(),
        ]
    )


class Client:
    """One HTTP connection per thread. Sync workers close it after each response (no keep-alive), and
    http.client reopens it for the next request: one TCP connect per request, the same for every scenario."""

    def __init__(self, port: int, token: str) -> None:
        self.port, self.token = port, token
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def post(self, path: str, body: bytes, content_type: str, auth: bool) -> tuple[int, bytes]:
        headers = {"Content-Type": content_type, "Content-Length": str(len(body))}
        if auth:
            headers["Authorization"] = f"Bearer {self.token}"
            headers["Idempotency-Key"] = f"bench-{uuid.uuid4().hex}"
        for attempt in (1, 2):
            try:
                self.conn.request("POST", path, body=body, headers=headers)
                response = self.conn.getresponse()
                data = response.read()
                if response.will_close:
                    self.conn.close()
                return response.status, data
            except (ConnectionError, http.client.HTTPException):
                self.conn.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")


class Scenario:
    def __init__(self, name: str, bodies: list[bytes], photo_body: bytes) -> None:
        self.name, self.bodies, self.photo_body = name, bodies, photo_body
        self.times: list[float] = []
        self.ok = 0
        self.errors: dict[str, int] = {}
        self.seconds = 0.0
        self.lock = threading.Lock()

    def once(self, client: Client, rng: random.Random) -> tuple[bool, str]:
        json_type = "application/json"
        form_type = f"multipart/form-data; boundary={BOUNDARY}"
        if self.name == "bare":
            status, _ = client.post("/bench/bare/", rng.choice(self.bodies), json_type, auth=False)
            return status == 201, f"bare {status}"
        if self.name == "bare+photo":
            status, _ = client.post("/bench/bare/", self.photo_body, form_type, auth=False)
            return status == 201, f"bare+photo {status}"
        status, data = client.post("/api/v1/cases", rng.choice(self.bodies), json_type, auth=True)
        if status != 201:
            return False, f"submit {status} {data[:120].decode(errors='replace')}"
        if self.name == "full":
            return True, ""
        reference = json.loads(data)["reference"]
        status, data = client.post(f"/api/v1/cases/{reference}/attachments", self.photo_body, form_type, auth=True)
        return status == 200, f"upload {status} {data[:120].decode(errors='replace')}"

    def phase(self, clients: list[Client], seconds: float, seed: int) -> None:
        deadline = time.perf_counter() + seconds

        def work(client: Client, worker_seed: int) -> None:
            rng = random.Random(worker_seed)
            times, ok, errors = [], 0, {}
            while time.perf_counter() < deadline:
                began = time.perf_counter()
                try:
                    good, what = self.once(client, rng)
                except Exception as exc:  # a failed request is counted, not fatal
                    good, what = False, f"{type(exc).__name__}: {exc}"[:120]
                elapsed = time.perf_counter() - began
                if good:
                    ok += 1
                    times.append(elapsed * 1000)
                else:
                    errors[what] = errors.get(what, 0) + 1
            with self.lock:
                self.times += times
                self.ok += ok
                for key, n in errors.items():
                    self.errors[key] = self.errors.get(key, 0) + n

        started = time.perf_counter()
        workers = [threading.Thread(target=work, args=(c, seed * 100 + i)) for i, c in enumerate(clients)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        self.seconds += time.perf_counter() - started  # includes the tail of requests begun before the deadline

    @property
    def rate(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


# --- orchestration ----------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _minqing(env: dict[str, str], *args: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "minqing.cli", *args], cwd=ROOT, env=env, capture_output=True, text=True
    )
    if done.returncode:
        sys.stderr.write(done.stdout[-3000:] + done.stderr[-3000:])
        raise SystemExit(f"failed: minqing {' '.join(args)}")


def _load() -> str:
    return " / ".join(f"{x:.2f}" for x in os.getloadavg())


def _counts(db_url: str) -> dict[str, int]:
    import psycopg

    with psycopg.connect(db_url) as conn:
        return {
            table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in ("bench_bare", "cases_case", "cases_caseevent", "cases_attachment", "api_idempotencyrecord")
        }


def run_http(env: dict[str, str], setup: dict, photo: bytes, args: argparse.Namespace) -> dict[str, Scenario]:
    port = _free_port()
    server = subprocess.Popen(
        [
            str(BIN / "gunicorn"),
            "minqing.wsgi",
            "--chdir",
            str(ROOT),
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
            "--worker-class",
            "sync",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    try:
        for _ in range(150):
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if server.poll() is not None:
                    raise SystemExit("gunicorn exited") from None
                time.sleep(0.2)
        bodies = [json.dumps(b, ensure_ascii=False).encode() for b in setup["bodies"]]
        photo_body = multipart(photo, "现场照片，请尽快处理")
        scenarios = {name: Scenario(name, bodies, photo_body) for name in SCENARIOS}
        clients = [Client(port, token) for token in setup["tokens"]]
        print(f"  warm-up: {args.warmup} s per scenario", flush=True)
        for name in SCENARIOS:  # warm-up: imports, caches, connections in both workers; not counted
            Scenario(name, bodies, photo_body).phase(clients, args.warmup, seed=0)
        for round_no in range(1, args.rounds + 1):
            for name in SCENARIOS:
                scenario = scenarios[name]
                before = scenario.ok
                seconds_before = scenario.seconds
                scenario.phase(clients, args.seconds, seed=round_no)
                rate = (scenario.ok - before) / (scenario.seconds - seconds_before)
                print(f"  round {round_no} {name:<11} {rate:7.1f} /s   load {_load()}", flush=True)
        return scenarios
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=8, help="client threads, one connection each (default 8)")
    parser.add_argument("--seconds", type=float, default=10.0, help="seconds per scenario per round (default 10)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds of the four scenarios (default 3)")
    parser.add_argument("--warmup", type=float, default=2.0, help="untimed seconds per scenario first (default 2)")
    parser.add_argument("--pool", type=int, default=500, help="distinct submission bodies (default 500)")
    parser.add_argument("--profile", type=int, default=0, help="then cProfile this many submissions in-process")
    parser.add_argument("--top", type=int, default=25, help="functions listed per profile table (default 25)")
    parser.add_argument("--database", default=f"bench_intake_{os.getpid()}", help="PostgreSQL database name")
    parser.add_argument("--keep", action="store_true", help="keep the PostgreSQL database afterwards")
    parser.add_argument("--setup-worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--profile-worker", default="", help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args()
    if args.setup_worker:
        setup_worker(args.threads, args.pool, args.seed)
        return
    if args.profile_worker:
        profile_worker(args.profile, args.profile_worker, args.top)
        return

    import psycopg

    if args.database == "bench_1m":
        raise SystemExit("refusing to use bench_1m")
    print("API intake vs a bare insert, PostgreSQL, gunicorn minqing.wsgi with 2 sync workers on loopback")
    print(
        f"client: {args.threads} threads (http.client, one connection each), {args.rounds} rounds × "
        f"{args.seconds:g} s per scenario, interleaved: {', '.join(SCENARIOS)}"
    )
    print("settings: bench.bench_settings = minqing.settings + ROOT_URLCONF bench.bench_urls + API_RATE_LIMITS")
    print("          raised to 1000000/m (default, auth) and 1000000/h (submit); DEBUG=0; SMS not used (tokens)")
    print(f"machine: {os.cpu_count()} CPUs, load average before {_load()} (1 / 5 / 15 min)", flush=True)
    db_url = f"{PG_URL}/{args.database}"
    with psycopg.connect(f"{PG_URL}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{args.database}"')
    try:
        with tempfile.TemporaryDirectory(prefix="minqing-intake-") as data_dir:
            env = {
                **os.environ,
                "MINQING_DATA_DIR": data_dir,
                "DATABASE_URL": db_url,
                "DEBUG": "0",
                "LOG_LEVEL": "WARNING",
                "PYTHONUNBUFFERED": "1",
                "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]),
            }
            Path(data_dir, "static").mkdir(exist_ok=True)
            began = time.perf_counter()
            env["DJANGO_SETTINGS_MODULE"] = "minqing.settings"
            for step in (("migrate", "--noinput", "-v0"), ("orgs", "load", "yiyang"), ("calendar", "seed")):
                _minqing(env, *step)
            _minqing(env, "demo", "accounts")
            env["DJANGO_SETTINGS_MODULE"] = "bench.bench_settings"
            done = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--setup-worker",
                    *("--threads", str(args.threads)),
                    *("--pool", str(args.pool)),
                    *("--seed", str(args.seed)),
                ],
                cwd=ROOT,
                env=env,
                stdout=subprocess.PIPE,
                text=True,
            )
            if done.returncode:
                raise SystemExit("setup worker failed")
            setup = json.loads(done.stdout.strip().splitlines()[-1])
            photo_path = Path(data_dir) / "photo.jpg"
            photo = make_photo(photo_path)
            print(
                f"setup {time.perf_counter() - began:.1f} s: database {args.database}, {len(setup['tokens'])} citizens "
                f"with tokens, {len(setup['bodies'])} bodies over {setup['villages']} villages and "
                f"{setup['categories']} categories, photo {len(photo):,} bytes (JPEG, noise)",
                flush=True,
            )
            scenarios = run_http(env, setup, photo, args)
            load_after = _load()
            counts = _counts(db_url)
            report(scenarios, args, load_after, counts)
            if args.profile:
                env["BENCH_PROFILE_BODIES"] = json.dumps(setup["bodies"][:200], ensure_ascii=False)
                subprocess.run(
                    [
                        sys.executable,
                        __file__,
                        "--profile-worker",
                        str(photo_path),
                        *("--profile", str(args.profile)),
                        *("--top", str(args.top)),
                    ],
                    cwd=ROOT,
                    env=env,
                    check=True,
                )
    finally:
        if not args.keep:
            with psycopg.connect(f"{PG_URL}/postgres", autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)')
            print(f"dropped database {args.database}")


def report(scenarios: dict[str, Scenario], args: argparse.Namespace, load_after: str, counts: dict) -> None:
    print()
    print(f"{'scenario':<12} {'ok':>7} {'errors':>7} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8}")
    print("-" * 55)
    for name in SCENARIOS:
        s = scenarios[name]
        errors = sum(s.errors.values())
        print(
            f"{name:<12} {s.ok:7d} {errors:7d} {s.rate:8.1f} "
            f"{percentile(s.times, 0.5):8.1f} {percentile(s.times, 0.95):8.1f}"
        )
    print("(full+photo counts a submission and its upload as one; its latency is the pair's)")
    for name in SCENARIOS:
        for what, n in sorted(scenarios[name].errors.items(), key=lambda kv: -kv[1])[:5]:
            print(f"  error {name}: {n} × {what}")
    plain = scenarios["full"].rate / scenarios["bare"].rate if scenarios["bare"].rate else float("nan")
    photo = scenarios["full+photo"].rate / scenarios["bare+photo"].rate if scenarios["bare+photo"].rate else 0.0
    print(f"ratio full / bare, requests/s:             {plain:.2f}  ({'meets' if plain >= 0.5 else 'misses'} ≥ 0.50)")
    print(f"ratio full+photo / bare+photo, requests/s: {photo:.2f}  ({'meets' if photo >= 0.5 else 'misses'} ≥ 0.50)")
    print(f"rows: {', '.join(f'{k} {v}' for k, v in counts.items())}")
    print(f"load average after {load_after} (1 / 5 / 15 min)", flush=True)


if __name__ == "__main__":
    main()
