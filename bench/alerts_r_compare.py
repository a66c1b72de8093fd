"""Compare the Noufaily detector with R's surveillance::farringtonFlexible on the same series.

    .venv/bin/python bench/alerts_r_compare.py                 # check: sample + edge cases, PASS/FAIL at 1e-6
    .venv/bin/python bench/alerts_r_compare.py --full          # also the whole harness design, R's FPR/POD
    .venv/bin/python bench/alerts_r_compare.py --full --workdir /tmp/rcmp --cores 2   # resumable

Needs ``Rscript`` with the surveillance package (Debian: ``apt-get install r-cran-surveillance``, 1.20.3).
Without it the script exits with status 2 (it never reports a skipped comparison as a pass).

Both sides get the same weekly series (written to CSV) and judge the same weeks with the issue's
settings: b=5 (or smaller for short series), w=3, noPeriods=10, pastWeeksNotIncluded=26,
weightsThreshold=2.58, thresholdMethod="nbPlugin", alpha=0.01 (one-sided: R's bound is
qnbinom(1 - alpha, ...)), limit54=c(5, 4), trend with pThresholdTrend=0.05, no population offset.
Per judged week it compares: whether a result exists (R: NA, ours: insufficient), mu0 = exp(eta0)
("expected"), phi, the trend kept or not, the upper bound (R gives NA when limit54 fails), the
p-value and the alarm. Continuous values agree when |ours - R| <= 1e-6 * max(1, |R|); the upper
bound, trend and alarm must be equal. Exit status 1 on any disagreement.

Cases of the check: 14 of the 42 harness scenarios (every third) x 2 replicates; series of zeros
(all zero: R's IRLS does not converge, so both give no result; zero seasonal blocks; a burst after
years of zeros); short histories with b = 1, 2, 3 (no trend below 3 years, as R); a large past
outbreak (reweighting); a steep trend (trend kept); w=2, noPeriods=8 (blocks of unequal length); the
original Farrington settings of detectors/farrington.py (noPeriods=1, weightsThreshold=1, "delta").

``--full`` runs R over the harness design (42 scenarios x ``--replicates``, seed ``--seed``, the
series bench/alerts_validation.py uses) and prints FPR and POD (by k, pooled over k = 1..10 and over
k in {2, 3, 5, 10}) of R next to ours. R needs about 1 CPU-second per series (49 weeks), so 4,200
series take over an hour on a busy 2-core machine; the series are written replicate-major and R
writes one file per replicate, so an interrupted run resumes in the same ``--workdir`` and a partial
run can be scored on its complete replicates (``--score-partial``; a multiple of 10, so that the
current outbreak's k = 1..10 stay balanced).
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from minqing.alerts.detectors.noufaily import farrington_flexible
from minqing.alerts.simulation import (
    CURRENT_K_VALUES,
    EVAL_WEEKS,
    N_WEEKS,
    WeeklySimulation,
    noufaily_scenarios,
    simulate_weekly,
    weekly_metrics,
)

R_SCRIPT = Path(__file__).with_suffix(".R")
TOL = 1e-6


@dataclass
class Case:
    name: str
    counts: np.ndarray  # (series, weeks), NaN = missing
    b: int = 5
    first: int = 52 * 5 + 3  # 0-based first judged week
    w: int = 3
    no_periods: int = 10
    past_weeks_not_included: int = 26
    weights_threshold: float = 2.58
    method: str = "nbPlugin"


@dataclass
class RResult:
    upper: np.ndarray
    mu0: np.ndarray
    expected: np.ndarray
    phi: np.ndarray
    trend: np.ndarray
    alarm: np.ndarray
    pvalue: np.ndarray


def load_avg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def run_r(case: Case, workdir: Path, cores: int, chunk: int = 50) -> RResult:
    """Write the case's series, run bench/alerts_r_compare.R, read its per-week output."""
    workdir.mkdir(parents=True, exist_ok=True)
    counts_csv = workdir / "counts.csv"
    text = "".join(",".join("NA" if np.isnan(v) else str(int(v)) for v in row) + "\n" for row in case.counts)
    if not counts_csv.exists() or counts_csv.read_text() != text:
        # new series: R's earlier output in this workdir no longer applies
        shutil.rmtree(workdir / "out", ignore_errors=True)
        tmp = workdir / "counts.csv.tmp"
        tmp.write_text(text)
        tmp.rename(counts_csv)
    n_series, n_weeks = case.counts.shape
    cmd = [
        "Rscript",
        str(R_SCRIPT),
        str(counts_csv),
        str(case.b),
        str(case.first + 1),
        str(n_weeks),
        str(workdir / "out"),
        f"cores={cores}",
        f"chunk={chunk}",
        f"w={case.w}",
        f"noPeriods={case.no_periods}",
        f"pastWeeksNotIncluded={case.past_weeks_not_included}",
        f"weightsThreshold={case.weights_threshold}",
        f"thresholdMethod={case.method}",
    ]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return read_r(workdir / "out", n_series, case.first, n_weeks)


def read_r(outdir: Path, n_series: int, first: int, n_weeks: int) -> RResult:
    shape = (n_series, n_weeks - first)
    out = {k: np.full(shape, np.nan) for k in ("upper", "mu0", "expected", "phi", "trend", "alarm", "pvalue")}
    for path in sorted(outdir.glob("chunk_*.csv")):
        with path.open() as fh:
            for row in csv.DictReader(fh):
                i, j = int(row["series"]), int(row["week"]) - first
                for key, col in (("upper", "upperbound"), ("mu0", "mu0"), ("phi", "phi"), ("pvalue", "pvalue")):
                    out[key][i, j] = float(row[col]) if row[col] != "NA" else np.nan
                if row.get("expected") not in (None, "NA"):  # absent from outputs of older runs
                    out["expected"][i, j] = float(row["expected"])
                for key in ("trend", "alarm"):
                    out[key][i, j] = float(row[key]) if row[key] != "NA" else np.nan
    return RResult(**out)


def ours(case: Case):
    ev = np.arange(case.first, case.counts.shape[1])
    return farrington_flexible(
        case.counts,
        ev,
        b=case.b,
        w=case.w,
        no_periods=case.no_periods,
        past_weeks_not_included=case.past_weeks_not_included,
        weights_threshold=case.weights_threshold,
        threshold_method=case.method,
        alpha=0.01,
    )


def compare(case: Case, r: RResult, res) -> dict:
    """Per-week differences; ``ok`` is False on any disagreement beyond TOL."""
    has_r = np.isfinite(r.mu0) if case.method == "nbPlugin" else np.isfinite(r.phi)
    has_py = ~res.insufficient
    both = has_r & has_py
    mu0, phi = res.extra["expected"], res.extra["phi"]

    def diff(a: np.ndarray, b: np.ndarray, mask: np.ndarray) -> tuple[float, float, bool]:
        a, b = a[mask], b[mask]
        if not a.size:
            return 0.0, 0.0, True
        d = np.abs(a - b)
        rel = d / np.maximum(np.abs(b), 1e-300)
        return float(d.max()), float(rel.max()), bool(np.all(d <= TOL * np.maximum(1.0, np.abs(b))))

    r_upper = np.isfinite(r.upper)
    enough = both & r_upper
    # R's bound is NA exactly where limit54 fails; ours is computed regardless
    y = np.nan_to_num(case.counts)
    ev = np.arange(case.first, case.counts.shape[1])
    recent = sum(y[:, ev - lag] for lag in range(4))
    limit_ok = bool(np.all(r_upper[both] == (recent[both] >= 5)))
    # R's mu0Vector is exp(eta0) for nbPlugin but a quantile of the prediction for "delta"; there
    # control$expected (NA where limit54 fails) is the mean
    mu0_r, mu0_mask = (r.mu0, both) if case.method == "nbPlugin" else (r.expected, enough)
    rows = {
        "cells": int(has_r.size),
        "judged_r": int(has_r.sum()),
        "judged_ours": int(has_py.sum()),
        "no_result_agrees": bool(np.all(has_r == has_py)),
        "mu0": diff(mu0, mu0_r, mu0_mask),
        "phi": diff(phi, r.phi, both),
        "pvalue": diff(res.pvalue, r.pvalue, enough),
        "upper_equal": int(
            (np.abs(res.upper[enough] - r.upper[enough]) <= TOL * np.maximum(1.0, np.abs(r.upper[enough]))).sum()
        ),
        "upper_cells": int(enough.sum()),
        "upper": diff(res.upper, r.upper, enough),
        "trend_equal": bool(np.all(res.extra["trend"][both] == (r.trend[both] == 1))),
        "alarm_equal": bool(np.all(res.alarm == (np.nan_to_num(r.alarm) == 1))),
        "alarms": (int(res.alarm.sum()), int(np.nansum(r.alarm))),
        "limit54_pattern": limit_ok,
    }
    rows["ok"] = (
        rows["no_result_agrees"]
        and rows["mu0"][2]
        and rows["phi"][2]
        and rows["pvalue"][2]
        and rows["upper_equal"] == rows["upper_cells"]
        and rows["trend_equal"]
        and rows["alarm_equal"]
        and limit_ok
    )
    return rows


def check_cases(seed: int) -> list[Case]:
    rng = np.random.default_rng([seed, 7])
    scen = noufaily_scenarios()[::3]
    sim = simulate_weekly(2, rng, scen)
    cases = [Case("harness: 14 scenarios x 2 replicates", sim.counts.astype(float), first=N_WEEKS - EVAL_WEEKS)]

    zeros = np.zeros((4, 320))
    zeros[1, [30, 100, 200]] = 1  # seasonal blocks and the window without cases
    zeros[1, 316:] = 3
    zeros[2, 310:] = [0, 1, 2, 0, 3, 2, 1, 4, 2, 5]  # a burst after years of zeros
    zeros[2, 40] = 1
    zeros[3] = rng.poisson(0.05, 320)  # very sparse
    zeros[3, 318:] = 4
    zeros[0, 315:] = 2  # all zero in the reference weeks: no result on either side
    cases.append(Case("zeros and sparse series", zeros, first=263))

    for b in (1, 2, 3):
        n = 52 * b + 3 + 30
        y = rng.negative_binomial(4, 4 / (4 + 6.0), (4, n)).astype(float)
        y[:, -3:] += 12
        cases.append(Case(f"short history b={b}", y, b=b, first=52 * b + 3))

    t = np.arange(400)
    base = rng.poisson(np.exp(1.5 + 0.004 * t + 0.4 * np.sin(2 * np.pi * t / 52)), (6, 400)).astype(float)
    base[:3, 200:206] += [5, 20, 40, 30, 15, 5]  # a big past outbreak: reweighting
    cases.append(Case("steep trend, past outbreak", base, first=350))
    cases.append(Case("w=2, noPeriods=8", base, w=2, no_periods=8, first=350))
    # the original Farrington detector (detectors/farrington.py): 2/3-power "delta" bound
    orig = dict(no_periods=1, past_weeks_not_included=3, weights_threshold=1.0, method="delta")
    cases.append(Case("farrington(): noPeriods=1, delta", base, first=370, **orig))
    return cases


def fmt_diff(d: tuple[float, float, bool]) -> str:
    return f"max abs {d[0]:.2e}, max rel {d[1]:.2e}"


def run_check(workdir: Path, cores: int, seed: int) -> bool:
    all_ok = True
    for i, case in enumerate(check_cases(seed)):
        t0 = time.perf_counter()
        r = run_r(case, workdir / f"check_{i}", cores)
        t1 = time.perf_counter()
        res = ours(case)
        t2 = time.perf_counter()
        c = compare(case, r, res)
        all_ok &= c["ok"]
        print(
            f"{'PASS' if c['ok'] else 'FAIL'}  {case.name}: {case.counts.shape[0]} series, {c['cells']} weeks judged, "
            f"results R/ours {c['judged_r']}/{c['judged_ours']}; R {t1 - t0:.1f} s, ours {t2 - t1:.2f} s"
        )
        print(
            f"      mu0 {fmt_diff(c['mu0'])}; phi {fmt_diff(c['phi'])}; p-value {fmt_diff(c['pvalue'])}; "
            f"upper bound equal {c['upper_equal']}/{c['upper_cells']} ({fmt_diff(c['upper'])}); "
            f"trend equal {c['trend_equal']}; alarms R/ours {c['alarms'][1]}/{c['alarms'][0]} "
            f"equal {c['alarm_equal']}; "
            f"NA where limit54 fails {c['limit54_pattern']}"
        )
    return all_ok


def replicate_major(n_scenarios: int, replicates: int) -> np.ndarray:
    """Row order of the full run: replicate 0 of every scenario, then replicate 1, ..."""
    return (np.arange(replicates)[:, None] + replicates * np.arange(n_scenarios)[None, :]).ravel()


def subset(sim: WeeklySimulation, rows: np.ndarray) -> WeeklySimulation:
    return WeeklySimulation(**{k: getattr(sim, k)[rows] for k in sim.__dataclass_fields__})


def run_full(workdir: Path, cores: int, seed: int, replicates: int, score_partial: bool) -> bool:
    sim = simulate_weekly(replicates, np.random.default_rng([seed, 1]))  # as run_weekly_validation
    n_sc = len(noufaily_scenarios())
    order = replicate_major(n_sc, replicates)
    first = N_WEEKS - EVAL_WEEKS
    case = Case("full", sim.counts[order].astype(float), first=first)
    t0 = time.perf_counter()
    if score_partial:
        r = read_r(workdir / "out", order.size, first, N_WEEKS)
    else:
        r = run_r(case, workdir, cores, chunk=n_sc)
    t1 = time.perf_counter()
    # complete replicates only (all 42 scenarios judged by R)
    done_rows = np.isfinite(r.mu0).any(axis=1) | np.isfinite(r.upper).any(axis=1)
    done_rep = done_rows.reshape(replicates, n_sc).all(axis=1)
    reps = np.flatnonzero(done_rep)
    if reps.size < replicates and reps.size >= len(CURRENT_K_VALUES):
        # a partial run: keep a multiple of 10 replicates, so that every k = 1..10 is equally frequent
        reps = reps[: reps.size - reps.size % len(CURRENT_K_VALUES)]
    rows = (reps[:, None] * n_sc + np.arange(n_sc)[None, :]).ravel()  # rows of the replicate-major order
    if not rows.size:
        print("no complete replicate from R yet")
        return False
    sub_case = Case("full", case.counts[rows], first=first)
    sub_r = RResult(**{k: getattr(r, k)[rows] for k in RResult.__dataclass_fields__})
    sub_res = ours(sub_case)
    t2 = time.perf_counter()
    c = compare(sub_case, sub_r, sub_res)
    sim_sub = subset(sim, order[rows])
    r_alarm = np.nan_to_num(sub_r.alarm) == 1
    m_r = weekly_metrics(r_alarm, sim_sub)
    m_py = weekly_metrics(sub_res.alarm, sim_sub)
    print(
        f"# full design: 42 scenarios x {reps.size} replicates (seed {seed}; {rows.size} series x {EVAL_WEEKS} weeks); "
        f"R {t1 - t0:.0f} s{' (read only)' if score_partial else ''}, ours {t2 - t1:.1f} s; load average {load_avg()}"
    )
    print(
        f"{'PASS' if c['ok'] else 'FAIL'}  per-week agreement: mu0 {fmt_diff(c['mu0'])}; phi {fmt_diff(c['phi'])}; "
        f"upper bound equal {c['upper_equal']}/{c['upper_cells']}; trend equal {c['trend_equal']}; "
        f"alarms R/ours {c['alarms'][1]}/{c['alarms'][0]} equal {c['alarm_equal']}; results R/ours "
        f"{c['judged_r']}/{c['judged_ours']}"
    )
    print(f"{'metric':<28}{'R surveillance 1.20.3':>24}{'ours':>12}")
    print(f"{'FPR':<28}{100 * m_r['fpr']:>23.3f}%{100 * m_py['fpr']:>11.3f}%")
    print(f"{'POD, k = 1..10 pooled':<28}{100 * m_r['pod']:>23.2f}%{100 * m_py['pod']:>11.2f}%")
    print(f"{'POD, k in {2,3,5,10}':<28}{100 * m_r['pod_k_2_3_5_10']:>23.2f}%{100 * m_py['pod_k_2_3_5_10']:>11.2f}%")
    for k in CURRENT_K_VALUES:
        kr, kp = m_r["pod_by_k"].get(str(k)), m_py["pod_by_k"].get(str(k))
        if kr is not None:
            print(f"{f'POD, k = {k}':<28}{100 * kr:>23.2f}%{100 * kp:>11.2f}%")
    print(f"{'median delay (weeks)':<28}{m_r['median_delay_weeks']:>24}{m_py['median_delay_weeks']:>12}")
    print(f"{'PPV':<28}{m_r['ppv']:>24}{m_py['ppv']:>12}")
    print(f"{'outbreaks / quiet weeks':<28}{m_r['outbreaks']:>17} / {m_r['quiet_weeks']}")
    if reps.size < replicates:
        print(f"# R finished {reps.size} of {replicates} replicates (ours on all: bench/alerts_validation.py)")
    return c["ok"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--full", action="store_true", help="also run R over the whole harness design")
    ap.add_argument("--full-only", action="store_true", help="skip the check cases")
    ap.add_argument("--score-partial", action="store_true", help="score the R output already in --workdir")
    ap.add_argument("--replicates", type=int, default=100)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--workdir", type=Path, default=None, help="keep the CSVs here (default: a temporary directory)")
    args = ap.parse_args()
    if shutil.which("Rscript") is None:
        print("FAIL  Rscript not found: install R and surveillance (apt-get install r-cran-surveillance)")
        return 2
    probe = subprocess.run(
        ["Rscript", "-e", "cat(as.character(packageVersion('surveillance')))"], capture_output=True, text=True
    )
    if probe.returncode != 0:
        print("FAIL  the R package surveillance is not installed (apt-get install r-cran-surveillance)")
        return 2
    print(f"# R surveillance {probe.stdout.strip()}; tolerance {TOL:g}; load average {load_avg()}")
    tmp = None
    workdir = args.workdir
    if workdir is None:
        tmp = tempfile.TemporaryDirectory(prefix="alerts_r_compare_")
        workdir = Path(tmp.name)
    t0 = time.perf_counter()
    ok = True
    if not (args.full_only or args.score_partial):
        ok &= run_check(workdir, args.cores, args.seed)
    if args.full or args.full_only or args.score_partial:
        ok &= run_full(
            workdir / f"full_r{args.replicates}_s{args.seed}",
            args.cores,
            args.seed,
            args.replicates,
            args.score_partial,
        )
    print(f"# {'PASS' if ok else 'FAIL'}: total {time.perf_counter() - t0:.0f} s, load average {load_avg()}")
    if tmp is not None:
        tmp.cleanup()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
