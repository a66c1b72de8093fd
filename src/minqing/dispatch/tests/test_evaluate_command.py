from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from minqing.dispatch.evaluation import (
    EvaluationInputError,
    LabelledCase,
    cross_validate,
    read_labelled_csv,
)

KEYS = {"n_train", "n_test", "accuracy", "macro_f1", "top3_recall", "ms_per_prediction", "p95_ms"}


def _write(path: Path, rows: list[LabelledCase], *, bom: bool = False) -> Path:
    with path.open("w", encoding="utf-8-sig" if bom else "utf-8", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(["id", "title", "body", "category", "posted_at"])
        writer.writerows([row.id, row.title, row.body, row.category, ""] for row in rows)
    return path


def _run(*args: str) -> dict:
    out = StringIO()
    call_command("dispatch_evaluate", *args, stdout=out)
    lines = out.getvalue().strip().splitlines()
    assert len(lines) == 1
    return json.loads(lines[0])


def _subset(rows: list[LabelledCase], per_label: int) -> list[LabelledCase]:
    taken: dict[str, int] = {}
    chosen = []
    for row in rows:
        if taken.get(row.category, 0) < per_label:
            taken[row.category] = taken.get(row.category, 0) + 1
            chosen.append(row)
    return chosen


def test_evaluate_prints_one_json_line_with_the_figures(split_rows, tmp_path):
    train, test = split_rows
    train_csv, test_csv = _write(tmp_path / "train.csv", train), _write(tmp_path / "test.csv", test)
    result = _run("--train", str(train_csv), "--test", str(test_csv))
    assert set(result) >= KEYS
    assert (result["n_train"], result["n_test"]) == (len(train), len(test))
    assert 0.6 <= result["macro_f1"] <= 1
    assert result["accuracy"] <= result["top3_recall"] <= 1
    assert result["ms_per_prediction"] > 0


def test_evaluate_cross_validation_mode(labelled_rows, tmp_path):
    rows = _subset(labelled_rows, 15)
    result = _run("--train", str(_write(tmp_path / "all.csv", rows, bom=True)), "--cv", "3", "--seed", "1")
    assert set(result) >= KEYS
    assert result["n_test"] == len(rows)
    assert (result["folds"], result["seed"]) == (3, 1)
    assert result["macro_f1"] > 0.3


def test_missing_columns_are_named(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("id,title,text\n1,路灯坏了,很久没修\n", encoding="utf-8")
    with pytest.raises(CommandError, match=r"missing column\(s\) body, category"):
        call_command("dispatch_evaluate", "--train", str(path), "--cv", "2")


def test_test_and_cv_together_are_refused(tmp_path):
    with pytest.raises(CommandError, match="either --test or --cv"):
        call_command("dispatch_evaluate", "--train", "a.csv", "--test", "b.csv", "--cv", "5")
    with pytest.raises(CommandError, match=r"--test TEST\.csv, or --cv N"):
        call_command("dispatch_evaluate", "--train", "a.csv")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (b"id,title,body,category\n", "no data rows"),
        ("id,title,body,category\n1,路灯,坏了,城建\n".encode("gbk"), "not UTF-8"),
        (b"id,title,body,category\n1,a,b,\n", "empty category on line"),
    ],
)
def test_bad_csv_gives_a_clear_message(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(EvaluationInputError, match=message):
        read_labelled_csv(path)


def test_missing_file_is_a_clear_message(tmp_path):
    with pytest.raises(EvaluationInputError, match="file not found"):
        read_labelled_csv(tmp_path / "absent.csv")


def test_bom_and_extra_columns_are_accepted(labelled_rows, tmp_path):
    rows = read_labelled_csv(_write(tmp_path / "bom.csv", labelled_rows[:5], bom=True))
    assert rows == labelled_rows[:5]


def test_cross_validate_handles_a_label_rarer_than_the_folds():
    rows = [LabelledCase(str(i), "路灯坏了", f"小区第{i}号路灯不亮", "城建") for i in range(8)]
    rows += [LabelledCase(str(i), "学校收费", f"学校第{i}次乱收费", "教育") for i in range(8, 16)]
    rows += [LabelledCase("16", "医院", "医院排队太久", "卫生")]
    result = cross_validate(rows, folds=5, seed=0)
    assert result["n_test"] == len(rows)
    assert 0 <= result["macro_f1"] <= 1


def test_command_exits_with_code_1_and_no_traceback(tmp_path):
    env = {**os.environ, "MINQING_DATA_DIR": str(tmp_path)}
    command = [sys.executable, "-m", "minqing.cli", "dispatch", "evaluate", "--train", "absent.csv", "--cv", "5"]
    finished = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert finished.returncode == 1
    assert "file not found" in finished.stderr
    assert "Traceback" not in finished.stderr
    assert finished.stdout == ""
