#!/usr/bin/env python3
"""API intake vs a bare insert: requests/s and p50/p95 on PostgreSQL under gunicorn, with and without a 1 MB photo.

    .venv/bin/python bench/api_intake.py                          # 8 client threads, 3 rounds of 10 s per scenario
    .venv/bin/python bench/api_intake.py --seconds 20 --rounds 2
    .venv/bin/python bench/api_intake.py --server-threads 1       # sync workers instead of gthread
    .venv/bin/python bench/api_intake.py --profile 300            # then cProfile 300 submissions in-process

A fresh PostgreSQL database (bench_intake_<pid> on 127.0.0.1:5432, dropped afterwards) gets `migrate`,
`orgs load yiyang`, `calendar seed` and `demo accounts`; then one citizen per client thread with an
API token, a pool of realistic case texts over Yiyang's villages, and the tables `bench_ninja` and
`bench_bare` created with raw SQL. gunicorn (`minqing.wsgi`, 2 workers with 4 threads each, i.e. the
gthread worker class, as `scripts/dev.py start` runs it; a free loopback port) serves the project
with `DJANGO_SETTINGS_MODULE=bench.bench_settings`: the project's settings and URLs plus the baselines
of bench/bench_urls.py. The API rate limits are raised out of reach there.

Seven scenarios, run in interleaved phases against the same server and the same worker config,
each by N threads with one keep-alive HTTP connection each, spread evenly over the two workers
(`GET /bench/worker/` names the worker; left alone, one worker often accepts every connection and the
other idles):

1. raw:         POST /bench/raw/, plain Django view + raw SQL INSERT, the submission's JSON body
2. bare:        POST /api/v1/bench/bare, ninja on the project's API, body validated by SubmitIn, ORM INSERT
3. full:        POST /api/v1/cases (Bearer token, a fresh Idempotency-Key per request)
4. raw+photo:   POST /bench/raw/ multipart with the 1 MB JPEG
5. bare+photo:  POST /api/v1/bench/bare-photo, ninja multipart with the 1 MB JPEG, ORM INSERT
6. full+photo:  POST /api/v1/cases multipart: the submission's fields and the 1 MB JPEG in one request
7. full+2req:   POST /api/v1/cases, then POST /api/v1/cases/{reference}/attachments with the JPEG,
                timed as one unit

Only 201 (200 for the upload) counts; anything else is an error and is reported. Beside requests/s and
latencies, each scenario's CPU per request is printed (from /proc: gunicorn user and kernel, PostgreSQL,
this load generator), which is steadier than requests/s on a noisy machine.
Target: full/bare ≥ 0.50 and full+photo/bare+photo ≥ 0.50 (bare = the ninja baseline); the ratios
against raw are printed beside them.
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
sys.path.insert(0, str(ROOT / "bench"))
from bulk_cases import free_port, minqing, percentile  # noqa: E402  (shared bench helpers)

PG_URL = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432")
SCENARIOS = ("raw", "bare", "full", "raw+photo", "bare+photo", "full+photo", "full+2req")
BARE_PATH, BARE_PHOTO_PATH, RAW_PATH = "/api/v1/bench/bare", "/api/v1/bench/bare-photo", "/bench/raw/"
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
        for table in ("bench_bare", "bench_ninja"):
            cursor.execute(
                f"CREATE TABLE IF NOT EXISTS {table}"
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

    def submit_with_photo(i: int) -> str:
        fields = {k: (str(v).lower() if isinstance(v, bool) else v) for k, v in bodies[i % len(bodies)].items()}
        response = client.post(
            "/api/v1/cases",
            data={**fields, "files": _NamedBytes(photo, "photo.jpg")},
            HTTP_IDEMPOTENCY_KEY=f"prof-{uuid.uuid4().hex}",
        )
        if response.status_code != 201:
            raise SystemExit(f"profile submit+photo: HTTP {response.status_code} {response.content[:300]!r}")
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
        (
            "submission with a 1 MB photo (one multipart POST)",
            submit_with_photo,
            list(range(count)),
            list(range(count)),
        ),
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


def form_fields(fields: dict) -> bytes:
    return b"".join(
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    )


def photo_part(photo: bytes) -> bytes:
    return b"".join(
        [
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="files"; filename="photo.jpg"\r\n'
            "Content-Type: image/jpeg\r\n\r\n".encode(),
            photo,
            f"\r\n--{BOUNDARY}--\r\n".encode(),
        ]
    )


def multipart(photo: bytes, text: str) -> bytes:
    return form_fields({"text": text}) + photo_part(photo)


def submission_fields(body: dict) -> bytes:
    """A submission's JSON fields as form fields (booleans as true/false), for the one-request multipart submit."""
    return form_fields({k: (str(v).lower() if isinstance(v, bool) else v) for k, v in body.items()})


class Client:
    """One HTTP/1.1 connection per thread, kept open while the server keeps it (gthread workers do
    keep-alive; sync workers close after each response and http.client reopens it for the next)."""

    def __init__(self, port: int, token: str) -> None:
        self.port, self.token = port, token
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def worker(self) -> int:
        """The pid of the gunicorn worker holding this connection (reopened if the server closed it idle)."""
        for attempt in (1, 2):
            try:
                self.conn.request("GET", "/bench/worker/")
                response = self.conn.getresponse()
                pid = json.loads(response.read())["pid"]
                if response.will_close:
                    self.conn.close()
                return pid
            except (ConnectionError, http.client.HTTPException):
                self.conn.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def post(self, path: str, body: bytes | tuple[bytes, ...], content_type: str, auth: bool) -> tuple[int, bytes]:
        """POST a body, or its parts in order (sent one after the other, so the client never joins 1 MB)."""
        length = len(body) if isinstance(body, bytes) else sum(map(len, body))
        headers = {"Content-Type": content_type, "Content-Length": str(length)}
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


JSON_TYPE = "application/json"
FORM_TYPE = f"multipart/form-data; boundary={BOUNDARY}"


class Scenario:
    def __init__(self, name: str, bodies: list[bytes], fields: list[bytes], photo: bytes) -> None:
        self.name, self.bodies, self.fields = name, bodies, fields
        self.photo_body = multipart(photo, "现场照片，请尽快处理")
        self.photo_part = photo_part(photo)
        self.times: list[float] = []
        self.ok = 0
        self.errors: dict[str, int] = {}
        self.seconds = 0.0
        self.cpu: dict[str, float] = {}  # CPU seconds by process group over the timed phases
        self.lock = threading.Lock()

    def once(self, client: Client, rng: random.Random) -> tuple[bool, str]:
        name = self.name
        if name in ("raw", "bare"):
            status, data = client.post(
                RAW_PATH if name == "raw" else BARE_PATH, rng.choice(self.bodies), JSON_TYPE, False
            )
            return status == 201, f"{name} {status} {data[:120].decode(errors='replace')}"
        if name in ("raw+photo", "bare+photo"):
            path = RAW_PATH if name == "raw+photo" else BARE_PHOTO_PATH
            status, data = client.post(path, self.photo_body, FORM_TYPE, False)
            return status == 201, f"{name} {status} {data[:120].decode(errors='replace')}"
        if name == "full+photo":  # one multipart request: the submission's fields and the photo
            body = (rng.choice(self.fields), self.photo_part)
            status, data = client.post("/api/v1/cases", body, FORM_TYPE, True)
            return status == 201, f"submit+photo {status} {data[:120].decode(errors='replace')}"
        status, data = client.post("/api/v1/cases", rng.choice(self.bodies), JSON_TYPE, True)
        if status != 201:
            return False, f"submit {status} {data[:120].decode(errors='replace')}"
        if name == "full":
            return True, ""
        reference = json.loads(data)["reference"]
        status, data = client.post(f"/api/v1/cases/{reference}/attachments", self.photo_body, FORM_TYPE, True)
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

        started, cpu_before = time.perf_counter(), cpu_snapshot()
        workers = [threading.Thread(target=work, args=(c, seed * 100 + i)) for i, c in enumerate(clients)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        self.seconds += time.perf_counter() - started  # includes the tail of requests begun before the deadline
        for group, seconds in cpu_spent(cpu_before, cpu_snapshot()).items():
            self.cpu[group] = self.cpu.get(group, 0.0) + seconds

    @property
    def rate(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0


CPU_GROUPS = ("gunicorn user", "gunicorn sys", "postgres", "client")


def cpu_snapshot() -> dict[tuple[int, str], float]:
    """CPU seconds so far, by (pid, group): gunicorn's processes (user and kernel apart), PostgreSQL's,
    and this load generator's.

    From /proc: a scenario's CPU per request is steadier than its requests/s on a noisy machine, and
    it says which side of the loopback the time goes to."""
    tick = os.sysconf("SC_CLK_TCK")
    spent: dict[tuple[int, str], float] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
            cmdline = Path(entry.path, "cmdline").read_bytes()
        except OSError:  # ended meanwhile
            continue
        pid, fields = int(entry.name), stat.rsplit(")", 1)[1].split()
        user, kernel = int(fields[11]) / tick, int(fields[12]) / tick
        if b"gunicorn" in cmdline:
            spent[pid, "gunicorn user"], spent[pid, "gunicorn sys"] = user, kernel
        elif stat.split(" (", 1)[1].startswith("postgres"):
            spent[pid, "postgres"] = user + kernel
    times = os.times()
    spent[os.getpid(), "client"] = times.user + times.system
    return spent


def cpu_spent(before: dict[tuple[int, str], float], after: dict[tuple[int, str], float]) -> dict[str, float]:
    """CPU seconds by group between two snapshots; a process that ended in between is not counted."""
    spent = dict.fromkeys(CPU_GROUPS, 0.0)
    for (pid, group), seconds in after.items():
        spent[group] += seconds - before.get((pid, group), 0.0)
    return spent


def spread(clients: list[Client], workers: int = 2, attempts: int = 200) -> list[int]:
    """Spread the keep-alive connections evenly over the gunicorn workers; the count per worker.

    Whichever worker wins the accept keeps the connection, and one often wins all of them: the other
    then idles, and a run measures one process on one core. A load balancer in front of the workers
    would spread them; here a connection on a crowded worker is reopened until the counts are even.
    """
    held = {id(c): c.worker() for c in clients}
    for _ in range(attempts):
        counts: dict[int, int] = {}
        for pid in held.values():
            counts[pid] = counts.get(pid, 0) + 1
        if len(counts) == workers and max(counts.values()) - min(counts.values()) <= 1:
            break
        crowded = max(counts, key=counts.get)
        client = next(c for c in clients if held[id(c)] == crowded)
        client.conn.close()
        held[id(client)] = client.worker()
    else:
        raise SystemExit(f"could not spread {len(clients)} connections over {workers} workers: {counts}")
    return sorted(counts.values(), reverse=True)


def prime(clients: list[Client], bodies: list[bytes]) -> int:
    """Send every submission body once through each gunicorn worker, before any timing.

    Each worker keeps the categories and villages it has read for minutes (`api.inputs`), as it would
    in service. A warm-up of a few seconds with random bodies leaves a third of the villages unread in
    each worker, and the first timed round then pays those reads on one submission in eight or so.
    """
    by_worker: dict[int, list[Client]] = {}
    for client in clients:
        by_worker.setdefault(client.worker(), []).append(client)
    jobs = [(client, bodies[j :: len(group)]) for group in by_worker.values() for j, client in enumerate(group)]

    refused: list[str] = []

    def send(client: Client, share: list[bytes]) -> None:
        for body in share:
            status, data = client.post("/api/v1/cases", body, JSON_TYPE, True)
            if status != 201:
                refused.append(f"HTTP {status} {data[:200]!r}")

    threads = [threading.Thread(target=send, args=job) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if refused:
        raise SystemExit(f"priming: {len(refused)} submissions refused, e.g. {refused[0]}")
    return sum(len(share) for _client, share in jobs)


# --- orchestration ----------------------------------------------------------------------------


def _load() -> str:
    return " / ".join(f"{x:.2f}" for x in os.getloadavg())


def _counts(db_url: str) -> dict[str, int]:
    import psycopg

    with psycopg.connect(db_url) as conn:
        return {
            table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in (
                "bench_bare",
                "bench_ninja",
                "cases_case",
                "cases_caseevent",
                "cases_attachment",
                "api_idempotencyrecord",
            )
        }


def run_http(env: dict[str, str], setup: dict, photo: bytes, args: argparse.Namespace) -> dict[str, Scenario]:
    port = free_port()
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
            "--threads",
            str(args.server_threads),
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
        fields = [submission_fields(b) for b in setup["bodies"]]
        scenarios = {name: Scenario(name, bodies, fields, photo) for name in args.scenarios}
        clients = [Client(port, token) for token in setup["tokens"]]
        keep_alive = args.server_threads > 1  # sync workers close every connection after one response
        if keep_alive:
            print(f"  connections per gunicorn worker: {' + '.join(map(str, spread(clients)))}", flush=True)
        if any(name.startswith("full") for name in args.scenarios):
            primed = prime(clients, bodies)
            print(f"  primed: every submission body once through each worker ({primed} submissions)", flush=True)
        print(f"  warm-up: {args.warmup} s per scenario", flush=True)
        for name in args.scenarios:  # warm-up: imports, caches, connections in both workers; not counted
            Scenario(name, bodies, fields, photo).phase(clients, args.warmup, seed=0)
        for round_no in range(1, args.rounds + 1):
            for name in args.scenarios:
                scenario = scenarios[name]
                if keep_alive:  # a connection the server closed may have come back on the other worker
                    spread(clients)
                before = scenario.ok
                seconds_before = scenario.seconds
                scenario.phase(clients, args.seconds, seed=round_no)
                rate = (scenario.ok - before) / (scenario.seconds - seconds_before)
                print(f"  round {round_no} {name:<11} {rate:7.1f} /s   load {_load()}", flush=True)
        return scenarios
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def _scenario_list(text: str) -> list[str]:
    names = text.split(",")
    unknown = sorted(set(names) - set(SCENARIOS))
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown scenario {', '.join(unknown)}; choose from {','.join(SCENARIOS)}")
    return [name for name in SCENARIOS if name in names]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=8, help="client threads, one connection each (default 8)")
    parser.add_argument("--seconds", type=float, default=10.0, help="seconds per scenario per round (default 10)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds of the four scenarios (default 3)")
    parser.add_argument(
        "--warmup",
        type=float,
        default=5.0,
        help="untimed seconds per scenario first (default 5): imports, connections and routing defaults in"
        " both workers (the villages and categories are primed before, see prime())",
    )
    parser.add_argument(
        "--server-threads",
        type=int,
        default=4,
        help="gunicorn threads per worker; >1 means the gthread worker class (default 4, as `scripts/dev.py start`)",
    )
    parser.add_argument(
        "--scenarios",
        type=_scenario_list,
        default=list(SCENARIOS),
        help=f"comma-separated subset to run (default all: {','.join(SCENARIOS)})",
    )
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
    worker = f"gthread workers × {args.server_threads} threads" if args.server_threads > 1 else "sync workers"
    print(f"API intake vs a bare insert, PostgreSQL, gunicorn minqing.wsgi with 2 {worker} on loopback")
    print(
        f"client: {args.threads} threads (http.client, one connection each), {args.rounds} rounds × "
        f"{args.seconds:g} s per scenario, interleaved: {', '.join(args.scenarios)}"
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
                minqing(env, *step)
            minqing(env, "demo", "accounts")
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
    for name, s in scenarios.items():
        errors = sum(s.errors.values())
        print(
            f"{name:<12} {s.ok:7d} {errors:7d} {s.rate:8.1f} "
            f"{percentile(s.times, 0.5):8.1f} {percentile(s.times, 0.95):8.1f}"
        )
    print(f"\nCPU ms per request   {'  '.join(f'{g:>13}' for g in CPU_GROUPS)}          all")
    for name, s in scenarios.items():
        per = {g: 1000 * s.cpu.get(g, 0.0) / s.ok if s.ok else float("nan") for g in CPU_GROUPS}
        print(f"{name:<20} {'  '.join(f'{per[g]:13.2f}' for g in CPU_GROUPS)}  {sum(per.values()):11.2f}")
    print("(full+photo: one multipart POST /api/v1/cases with the photo; full+2req: the JSON submission, then")
    print(" POST /cases/{reference}/attachments, timed as one unit; bare = ninja + pydantic + ORM; raw = Django + SQL)")
    for name in scenarios:
        for what, n in sorted(scenarios[name].errors.items(), key=lambda kv: -kv[1])[:5]:
            print(f"  error {name}: {n} × {what}")

    def ratio(a: str, b: str) -> float:
        if a not in scenarios or b not in scenarios or not scenarios[b].rate:
            return float("nan")
        return scenarios[a].rate / scenarios[b].rate

    for a, b, target in (
        ("full", "bare", True),
        ("full+photo", "bare+photo", True),
        ("full+2req", "bare+photo", False),
        ("full", "raw", False),
        ("full+photo", "raw+photo", False),
        ("bare", "raw", False),
    ):
        value = ratio(a, b)
        if value != value:  # a scenario that did not run
            continue
        verdict = f"  ({'meets' if value >= 0.5 else 'misses'} ≥ 0.50)" if target else ""
        print(f"ratio {a} / {b}, requests/s: {' ' * (24 - len(a) - len(b))}{value:.2f}{verdict}")
    print(f"rows: {', '.join(f'{k} {v}' for k, v in counts.items())}")
    print(f"load average after {load_after} (1 / 5 / 15 min)", flush=True)


if __name__ == "__main__":
    main()
