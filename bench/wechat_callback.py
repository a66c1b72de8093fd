#!/usr/bin/env python3
"""WeChat callback latency: p50 / p95 / p99 of signed text messages, plain mode and AES (safe) mode.

    .venv/bin/python bench/wechat_callback.py                 # 500 requests per mode, fresh SQLite
    .venv/bin/python bench/wechat_callback.py --requests 2000
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_wechat .venv/bin/python bench/wechat_callback.py

Each request goes through the whole Django stack (middleware, signature, replay window, defusedxml,
AES, dedupe row, draft row, passive reply) via django.test.Client; the tasks backend is the real
database backend, so the confirmation step pays for enqueuing the case creation (the task itself
does not run here). Followers cycle through the full conversation: description → township → name
→ confirm. Target: p95 ≤ 100 ms. Figures are printed, not asserted.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
CONVERSATION = ("村口的路灯坏了一个多月，晚上出行很不安全，希望尽快修好", "柳泉镇", "张三", "1")


def setup(data_dir: str) -> None:
    os.environ.setdefault("MINQING_DATA_DIR", data_dir)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "minqing.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from minqing.orgs.loaders import load_dataset
    from minqing.orgs.models import OrgUnit

    if not OrgUnit.objects.exists():
        load_dataset("yiyang")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def run(mode: str, requests: int, followers: int) -> list[float]:
    from django.test import Client

    from minqing.intake.wechat.tests import helpers

    client, timings = Client(), []
    post = helpers.post_aes if mode == "aes" else helpers.post_plain
    for i in range(requests + 20):
        # Each follower goes through one whole conversation; then new followers start.
        cycle, step = divmod(i // followers, len(CONVERSATION))
        openid = f"o{mode}{cycle:03d}{i % followers:05d}"
        xml = helpers.text_xml(CONVERSATION[step], msg_id=f"{mode}{i}", openid=openid)
        started = time.perf_counter()
        response = post(client, xml)
        elapsed = time.perf_counter() - started
        if response.status_code != 200:
            raise SystemExit(f"{mode} request {i}: HTTP {response.status_code} {response.content[:200]!r}")
        if i >= 20:  # the first 20 warm caches and connections
            timings.append(elapsed * 1000)
    return timings


def _enqueued() -> int:
    from django_tasks_db.models import DBTaskResult

    return DBTaskResult.objects.count()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--followers", type=int, default=50, help="distinct openids in the conversation cycle")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as data_dir:
        setup(data_dir)
        from django.conf import settings
        from django.test.utils import override_settings

        from minqing.intake.wechat.tests import helpers

        database = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
        print(f"WeChat callback, {args.requests} text messages per mode, {args.followers} followers, {database}")
        print(f"{'mode':6} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8} {'mean ms':>8}")
        with override_settings(
            WECHAT_TOKEN=helpers.TOKEN, WECHAT_APP_ID=helpers.APP_ID, WECHAT_AES_KEY=helpers.AES_KEY
        ):
            for mode in ("plain", "aes"):
                t = run(mode, args.requests, args.followers)
                print(
                    f"{mode:6} {percentile(t, 0.5):8.2f} {percentile(t, 0.95):8.2f} {percentile(t, 0.99):8.2f} "
                    f"{max(t):8.2f} {statistics.mean(t):8.2f}"
                )
            print(f"enqueued case creations: {_enqueued()} (one per completed conversation)")
        print("target: p95 <= 100 ms")


if __name__ == "__main__":
    main()
