from __future__ import annotations

import json

import pytest
from django.core.management import CommandError, call_command

from minqing.accounts.models import Role
from minqing.cases import actions as case_actions
from minqing.cases.models import Outcome
from minqing.core.schedule import JOBS
from minqing.dispatch.models import ClassifierVersion
from minqing.dispatch.suggest import suggest
from minqing.dispatch.tests.factories import TOPICS, category_for, register, synthetic_texts, unit_for
from minqing.testing.personas import LIUQUAN, first_village, make_staff

PER_TOPIC = 20


def _close_cases(dispatcher, per_topic: int) -> None:
    """Closed cases through the real lifecycle: register, accept, assign, sign, reply, close."""
    village = first_village(LIUQUAN)
    for topic in TOPICS:
        unit = unit_for(topic)
        handler = make_staff(f"handler_{topic}", Role.HANDLER, unit.code)
        for title, content in synthetic_texts(topic, per_topic):
            case = register(dispatcher, village, title, content)
            case = case_actions.accept_case(case, dispatcher, category=category_for(topic))
            case = case_actions.assign_case(case, dispatcher, lead_unit=unit)
            case = case_actions.sign_for_case(case, handler)
            case = case_actions.reply_case(case, handler, outcome=Outcome.SUPPORTED, reply_text="已经处理完毕。")
            case_actions.close_case(case, dispatcher)


def _train(capsys, *args: str) -> dict:
    call_command("dispatch_train", *args)
    return json.loads(capsys.readouterr().out)


def test_training_refuses_with_too_few_cases(yiyang, models_dir, dispatcher):
    _close_cases(dispatcher, 1)
    with pytest.raises(CommandError, match=r"只有 3 件已办结.*至少需要 200 件"):
        call_command("dispatch_train")
    assert not ClassifierVersion.objects.exists()


def test_scheduled_training_with_too_few_cases_exits_quietly(yiyang, models_dir, caplog):
    call_command("dispatch_train", "--if-enough")
    assert not ClassifierVersion.objects.exists()
    assert "dispatch training skipped" in caplog.text


def test_training_on_closed_cases_stores_and_activates_versions(yiyang, models_dir, dispatcher, capsys):
    _close_cases(dispatcher, PER_TOPIC)
    result = _train(capsys, "--min-cases", "30")
    assert result["n_cases"] == 3 * PER_TOPIC
    assert result["versions"] == {"category": 1, "unit": 2}
    assert set(result["metrics"]["category"]) == {"accuracy", "macro_f1", "top3_recall", "folds"}
    active = ClassifierVersion.objects.filter(active=True).order_by("version")
    assert [(v.target, v.n_training) for v in active] == [("category", 60), ("unit", 60)]
    assert all((models_dir / version.path).is_file() for version in active)

    suggestions = suggest("北岭夜间有人偷盗", "小偷撬门，治安混乱", township=first_village(LIUQUAN).parent)
    assert suggestions.models == {"category": 1, "unit": 2}
    assert suggestions.categories[0].id == category_for("security").pk
    assert suggestions.categories[0].source == "model"
    assert unit_for("security").pk in [item.id for item in suggestions.units]

    again = _train(capsys, "--min-cases", "30", "--no-cv")
    assert again["versions"] == {"category": 3, "unit": 4} and again["metrics"] == {"category": {}, "unit": {}}
    assert list(ClassifierVersion.objects.filter(active=True).values_list("version", flat=True)) == [4, 3]
    assert suggest("路灯不亮", "").models == {"category": 3, "unit": 4}


def test_training_and_reconciliation_are_scheduled():
    jobs = {job.command: job for job in JOBS}
    assert jobs["dispatch_train"].interval_seconds == 7 * 24 * 3600
    assert "--if-enough" in jobs["dispatch_train"].args
    assert jobs["dispatch_reconcile"].interval_seconds <= 3600
