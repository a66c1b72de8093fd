"""Benchmark of dispatch suggestions and related-case search. Prints figures; not a timed test.

    .venv/bin/python bench/dispatch_suggest.py [--open-cases 10000] [--probes 300]

Runs in a throw-away SQLite database under a temporary MINQING_DATA_DIR:

(a) `suggest()` latency with trained, active category and unit models (trained on
    ../shared/data/public_messages_labelled_457.csv: category "<level-1>/其他", unit the
    built-in department for that level-1 category) plus 40 routing rules, over the 457
    texts and some empty / English ones; target p95 ≤ 20 ms;
(b) `find_related()` latency with N open cases (default 10,000) in one county over the
    last 30 days: cold (first call: every case's n-grams computed) and warm (cached).

The open cases are inserted with bulk_create (a benchmark shortcut: no events, no
actions); their texts are the 457 real messages recombined, the petitioners' phones
synthetic.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MESSAGES = REPO / ".." / "shared" / "data" / "public_messages_labelled_457.csv"
TARGET_P95_MS = 20.0


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def summary(name: str, milliseconds: list[float]) -> str:
    return (
        f"{name}: n={len(milliseconds)} mean={statistics.mean(milliseconds):.2f} ms "
        f"p50={percentile(milliseconds, 0.5):.2f} ms p95={percentile(milliseconds, 0.95):.2f} ms "
        f"max={max(milliseconds):.2f} ms"
    )


def setup_django(data_dir: str) -> None:
    os.environ["MINQING_DATA_DIR"] = data_dir
    os.environ.pop("DATABASE_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "minqing.settings")
    sys.path.insert(0, str(REPO / "src"))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", "--noinput", verbosity=0)
    call_command("orgs_load", "yiyang", verbosity=0)


def read_messages() -> list[dict[str, str]]:
    with MESSAGES.open(encoding="utf-8-sig", newline="") as stream:
        return list(csv.DictReader(stream))


def train_and_install(rows: list[dict[str, str]]) -> float:
    from minqing.dispatch.classifier import TextClassifier, case_text
    from minqing.dispatch.models import ClassifierVersion
    from minqing.dispatch.suggest import DEFAULT_DEPARTMENTS_LEVEL1, clear_model_cache, models_dir
    from minqing.orgs.models import OrgUnit

    departments = {
        level1: OrgUnit.objects.filter(kind="department", name__contains=word).values_list("code", flat=True).first()
        for level1, word in DEFAULT_DEPARTMENTS_LEVEL1.items()
    }
    texts = [case_text(row["title"], row["body"]) for row in rows]
    started = time.perf_counter()
    category = TextClassifier().fit(texts, [f"{row['category']}/其他" for row in rows])
    unit = TextClassifier().fit(texts, [departments[row["category"]] for row in rows])
    seconds = time.perf_counter() - started
    directory = models_dir()
    for version, (target, model) in enumerate((("category", category), ("unit", unit)), start=1):
        model.save(directory / f"{target}-v{version}.model")
        ClassifierVersion.objects.create(
            version=version, target=target, path=f"{target}-v{version}.model", n_training=len(rows), active=True
        )
    clear_model_cache()
    return seconds


def add_rules() -> None:
    from minqing.cases.models import Category
    from minqing.dispatch.models import RoutingRule
    from minqing.orgs.models import OrgUnit

    townships = list(OrgUnit.objects.filter(kind="township"))
    categories = list(Category.objects.filter(parent__isnull=False)[:20])
    rules = [RoutingRule(category=c, township=t, unit=t) for c, t in zip(categories, townships * 2, strict=False)]
    rules += [RoutingRule(keyword=word, unit=townships[0]) for word in ("煤气", "塌方", "溺水", "火灾", "爆炸")]
    RoutingRule.objects.bulk_create(rules)


def bench_suggest(rows: list[dict[str, str]]) -> list[float]:
    from minqing.dispatch.suggest import suggest
    from minqing.orgs.models import OrgUnit

    townships = list(OrgUnit.objects.filter(kind="township"))
    probes = [(row["title"], row["body"]) for row in rows] + [("", ""), ("The street light is broken", ""), ("？", "")]
    suggest(*probes[0], township=townships[0])  # warm up: loads the models once
    timings = []
    for index, (title, body) in enumerate(probes * 2):
        started = time.perf_counter()
        suggest(title, body, township=townships[index % len(townships)])
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def make_open_cases(rows: list[dict[str, str]], n: int) -> None:
    from django.utils import timezone

    from minqing.cases.models import Case, Party
    from minqing.orgs.models import OrgUnit

    rng = random.Random(0)
    villages = list(OrgUnit.objects.filter(kind="village"))
    sentences = [s for row in rows for s in row["body"].replace("_x000D_", "").split("。") if len(s) > 8]
    now = timezone.now()
    cases = []
    for i in range(n):
        village = rng.choice(villages)
        row = rng.choice(rows)
        cases.append(
            Case(
                reference=f"BENCH-{i:07d}",
                query_code="000000",
                channel="web",
                title=row["title"][:120],
                content="。".join(rng.sample(sentences, 3)),
                location_unit=village,
                location_path=village.path,
                latitude=34.4 + rng.random() * 0.3,
                longitude=111.9 + rng.random() * 0.4,
                state="submitted",
                submitted_at=now - timedelta(minutes=rng.randrange(30 * 24 * 60)),
            )
        )
    Case.objects.bulk_create(cases, batch_size=2000)
    ids = list(Case.objects.values_list("pk", flat=True))
    parties = []
    for case_id in ids:
        party = Party(case_id=case_id, name="演示")
        party.phone = f"1370{rng.randrange(10**7):07d}"
        parties.append(party)
    Party.objects.bulk_create(parties, batch_size=2000)


def bench_related(rows: list[dict[str, str]], probes: int) -> tuple[float, list[float]]:
    from minqing.accounts.models import Membership, User
    from minqing.cases.models import Case
    from minqing.dispatch.related import find_related
    from minqing.orgs.models import OrgUnit

    user = User.objects.create_user(username="bench_dispatcher", password="x")
    Membership.objects.create(user=user, unit=OrgUnit.objects.get(code="410327X01"), role="dispatcher")
    sample = list(Case.objects.order_by("?")[:probes])
    started = time.perf_counter()
    find_related(user, sample[0])
    cold = (time.perf_counter() - started) * 1000
    timings = []
    for case in sample[1:]:
        started = time.perf_counter()
        find_related(user, case)
        timings.append((time.perf_counter() - started) * 1000)
    return cold, timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--open-cases", type=int, default=10_000)
    parser.add_argument("--probes", type=int, default=300)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="minqing-bench-dispatch-") as data_dir:
        setup_django(data_dir)
        rows = read_messages()
        print(f"training on {len(rows)} labelled messages: {train_and_install(rows):.1f} s (both models)")
        add_rules()
        timings = bench_suggest(rows)
        p95 = percentile(timings, 0.95)
        verdict = "meets" if p95 <= TARGET_P95_MS else "MISSES"
        print(summary("suggest()", timings) + f" — {verdict} the p95 ≤ {TARGET_P95_MS:.0f} ms target")
        started = time.perf_counter()
        make_open_cases(rows, options.open_cases)
        print(f"{options.open_cases} open cases inserted in {time.perf_counter() - started:.1f} s")
        cold, warm = bench_related(rows, options.probes)
        print(f"find_related() cold (first call, n-grams of every candidate computed): {cold:.0f} ms")
        print(summary("find_related() warm", warm))


if __name__ == "__main__":
    main()
