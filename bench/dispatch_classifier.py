"""Benchmark of the dispatch text classifier. Prints figures; it is not a timed test.

    .venv/bin/python bench/dispatch_classifier.py            # everything (about 3 minutes)
    .venv/bin/python bench/dispatch_classifier.py --n-synthetic 20000

(a) 5-fold cross-validation on ../shared/data/public_messages_labelled_457.csv, for
    three fold seeds (the target is checked on their mean, so one lucky split
    cannot pass it); (b) latency of 1,000 single suggestions; (c) training time and
    peak memory (ru_maxrss of a child process) on synthetic cases.

The synthetic cases are made up: sentences of the 457 real messages recombined per
category, mixed with template sentences about the 15 top-level categories of
categories_3level.csv, synthetic village and person names, and lengths drawn from
the real messages. They measure cost, not accuracy.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from minqing.dispatch.classifier import TextClassifier  # noqa: E402
from minqing.dispatch.evaluation import cross_validate, read_labelled_csv  # noqa: E402

DATA = REPO / ".." / "shared" / "data"
MESSAGES = DATA / "public_messages_labelled_457.csv"
CATEGORIES = DATA / "categories_3level.csv"
TOWNSHIPS = DATA / "yiyang_townships.csv"
SEEDS = (0, 1, 2)
TARGETS = {"macro_f1": 0.80, "top3_recall": 0.97, "p95_ms": 20.0, "train_seconds": 120.0, "peak_mb": 2048.0}
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕"
NAME_CHARS = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰红建国志斌海波鹏飞宇浩然"
PLACE_CHARS = "东西南北上下前后大小新老石河沟坡岭庄营寨湾坪店桥堡岗洼园屯"
TEMPLATES = (
    "{place}{village}{person}反映{l3}问题，希望有关部门尽快处理。",
    "关于{l2}方面的{l3}，{village}群众意见很大。",
    "{person}来电称{place}存在{l3}的情况，已持续{n}个月。",
    "请{place}相关部门就{l3}问题给予答复。",
    "{village}村民多次反映{l2}问题，{l3}至今没有解决。",
)
TITLES = ("{place}{l3}问题", "反映{village}{l3}", "关于{l3}的诉求", "{place}{village}{l2}问题求助")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n-synthetic", type=int, default=100_000)
    parser.add_argument("--train-synthetic", type=int, help=argparse.SUPPRESS)  # child process mode
    options = parser.parse_args()
    if options.train_synthetic:
        print(json.dumps(train_synthetic(options.train_synthetic)))
        return
    rows = read_labelled_csv(MESSAGES)
    results = {"cv": [cross_validate(rows, folds=5, seed=seed) for seed in SEEDS]}
    results["latency"] = latency(rows)
    results["training"] = training_cost(options.n_synthetic)
    report(results)


def latency(rows: list, predictions: int = 1000) -> dict[str, float]:
    classifier = TextClassifier().fit([row.text for row in rows], [row.category for row in rows])
    texts = [row.text for row in rows] + ["", "The street light is broken", "？？？"]
    classifier.predict_top_k(texts[0])  # warm up
    timings = []
    for index in range(predictions):
        started = time.perf_counter()
        classifier.predict_top_k(texts[index % len(texts)])
        timings.append((time.perf_counter() - started) * 1000)
    return {"p50_ms": float(np.percentile(timings, 50)), "p95_ms": float(np.percentile(timings, 95))}


def training_cost(n_cases: int) -> dict[str, float]:
    """Train in a child process so its ru_maxrss is the training's own peak."""
    command = [sys.executable, __file__, "--train-synthetic", str(n_cases)]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def train_synthetic(n_cases: int) -> dict[str, float]:
    texts, labels = synthetic_cases(n_cases, random.Random(0))
    started, cpu_started = time.perf_counter(), time.process_time()
    classifier = TextClassifier().fit(texts, labels)
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    with tempfile.TemporaryDirectory() as folder:
        size = classifier.save(Path(folder) / "model.bin", secret="bench").stat().st_size
    return {
        "n_cases": n_cases,
        "n_labels": len(classifier.labels),
        "n_features": int(classifier._model.coef.shape[1]),
        "train_seconds": seconds,
        "train_cpu_seconds": cpu_seconds,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "model_mb": size / 2**20,
    }


def synthetic_cases(n_cases: int, rng: random.Random) -> tuple[list[str], list[str]]:
    sentences = _sentences_by_category()
    real_categories = sorted(sentences)
    taxonomy = _taxonomy()
    lengths = [len(row.text) for row in read_labelled_csv(MESSAGES)]
    towns = [row["name"] for row in csv.DictReader(TOWNSHIPS.open(encoding="utf-8-sig"))]
    sources = {name: (name if name in sentences else real_categories[i % 7]) for i, name in enumerate(taxonomy)}
    texts, labels = [], []
    for _ in range(n_cases):
        label = rng.choice(list(taxonomy))
        texts.append(_case(rng, taxonomy[label], sentences[sources[label]], towns, rng.choice(lengths)))
        labels.append(label)
    return texts, labels


def _case(rng: random.Random, topics: list[tuple[str, str]], pool: list[str], towns: list[str], length: int) -> str:
    def fill(template: str) -> str:
        l2, l3 = rng.choice(topics)
        return template.format(
            place=rng.choice(towns), village=_village(rng), person=_person(rng), l2=l2, l3=l3, n=rng.randint(1, 24)
        )

    parts = [fill(rng.choice(TITLES)), "\n"]
    while sum(map(len, parts)) < length:
        parts.append(fill(rng.choice(TEMPLATES)) if rng.random() < 0.35 else rng.choice(pool))
    return "".join(parts)


def _village(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + rng.choice(PLACE_CHARS) + "村"


def _person(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choices(NAME_CHARS, k=rng.randint(1, 2)))


def _sentences_by_category() -> dict[str, list[str]]:
    pools: dict[str, list[str]] = {}
    for row in read_labelled_csv(MESSAGES):
        pieces = re.findall(r"[^。！？!?\n]+[。！？!?]?", row.body.replace("_x000D_", "\n"))
        pools.setdefault(row.category, []).extend(piece.strip() for piece in pieces if len(piece.strip()) > 4)
    return pools


def _taxonomy() -> dict[str, list[tuple[str, str]]]:
    topics: dict[str, list[tuple[str, str]]] = {}
    for row in csv.DictReader(CATEGORIES.open(encoding="utf-8-sig")):
        topics.setdefault(row["level1"], []).append((row["level2"], row["level3"]))
    return topics


def report(results: dict) -> None:
    cv = results["cv"]
    mean = {key: float(np.mean([run[key] for run in cv])) for key in ("accuracy", "macro_f1", "top3_recall")}
    print("(a) 5-fold cross-validation, public_messages_labelled_457.csv")
    print(f"    {'seed':>6} {'accuracy':>9} {'macro_f1':>9} {'top3':>7} {'ms/pred':>8}")
    for run in cv:
        row = f"{run['accuracy']:9.4f} {run['macro_f1']:9.4f} {run['top3_recall']:7.4f} {run['ms_per_prediction']:8.2f}"
        print(f"    {run['seed']:>6} {row}")
    print(f"    {'mean':>6} {mean['accuracy']:9.4f} {mean['macro_f1']:9.4f} {mean['top3_recall']:7.4f}")
    lat, train = results["latency"], results["training"]
    print(f"(b) latency over 1,000 single suggestions: p50 {lat['p50_ms']:.2f} ms, p95 {lat['p95_ms']:.2f} ms")
    print(
        f"(c) training on {train['n_cases']:,} synthetic cases, {train['n_labels']} labels, "
        f"{train['n_features']:,} features: {train['train_seconds']:.1f} s wall "
        f"({train['train_cpu_seconds']:.1f} s CPU), peak RSS {train['peak_mb']:.0f} MB, "
        f"model file {train['model_mb']:.1f} MB"
    )
    checks = [
        ("macro-F1 (mean of seeds) >= 0.80", mean["macro_f1"] >= TARGETS["macro_f1"]),
        ("top-3 recall (mean of seeds) >= 0.97", mean["top3_recall"] >= TARGETS["top3_recall"]),
        ("suggestion p95 <= 20 ms", lat["p95_ms"] <= TARGETS["p95_ms"]),
        (f"training {train['n_cases']:,} cases <= 120 s", train["train_seconds"] <= TARGETS["train_seconds"]),
        (f"training {train['n_cases']:,} cases <= 2 GB", train["peak_mb"] <= TARGETS["peak_mb"]),
    ]
    print(
        "    load average (1/5/15 min) at the end: {:.1f} {:.1f} {:.1f} on {} CPUs".format(
            *os.getloadavg(), os.cpu_count()
        )
    )
    for name, passed in checks:
        print(f"    {'PASS' if passed else 'FAIL'}  {name}")


if __name__ == "__main__":
    main()
