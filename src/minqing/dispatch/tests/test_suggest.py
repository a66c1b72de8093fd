from __future__ import annotations

import logging

import pytest

from minqing.cases.models import Category
from minqing.dispatch import classifier
from minqing.dispatch.models import ClassifierVersion, RoutingRule
from minqing.dispatch.suggest import active_model, suggest
from minqing.dispatch.tests.factories import category_for, unit_for
from minqing.orgs.models import OrgUnit
from minqing.testing.personas import LIUQUAN, PASSWORD

SECURITY_TEXT = ("北岭夜间有人偷盗", "反映北岭夜间有人偷盗，小偷撬门，治安混乱。")


def _liuquan() -> OrgUnit:
    return OrgUnit.objects.get(code=LIUQUAN)


def test_model_suggests_category_with_reasons_and_default_department(active_models):
    result = suggest(*SECURITY_TEXT)
    top = result.categories[0]
    assert (top.label, top.source, top.id) == ("政法/社会治安", "model", category_for("security").pk)
    assert top.parent_id == category_for("security").parent_id
    assert top.reasons and all(isinstance(word, str) for word in top.reasons)
    assert len(result.categories) <= 3 and len(result.units) <= 3
    assert result.units[0].id == unit_for("security").pk  # 县公安局, by the model and the built-in map
    assert any(reason.startswith("规则：") for reason in result.units[0].reasons)
    assert result.models == {"category": 1, "unit": 2}


def test_category_township_rule_applies_with_reason(active_models):
    township = _liuquan()
    RoutingRule.objects.create(category=category_for("security"), township=township, unit=township, note="属地派出所")
    result = suggest(*SECURITY_TEXT, township=township)
    first = result.units[0]
    assert (first.id, first.source) == (township.pk, "rule")
    assert first.reasons[0] == "规则：政法 / 社会治安 × 柳泉镇 → 柳泉镇"


def test_rule_for_other_township_does_not_apply(active_models):
    RoutingRule.objects.create(
        category=category_for("security"), township=OrgUnit.objects.get(code="410327103"), unit=unit_for("water")
    )
    result = suggest(*SECURITY_TEXT, township=_liuquan())
    assert unit_for("water").pk not in [item.id for item in result.units[:1]]


def test_keyword_override_wins_over_model_and_area_rules(active_models):
    township = _liuquan()
    emergency = OrgUnit.objects.get(code="410327D18")
    RoutingRule.objects.create(category=category_for("security"), township=township, unit=township)
    street_safety = Category.objects.get(parent__name="城乡建设", name="安全生产")
    RoutingRule.objects.create(keyword="煤气", category=street_safety, unit=emergency, priority=-5)
    result = suggest("北岭煤气泄漏", "小偷撬门后煤气泄漏，治安混乱。", township=township)
    assert (result.units[0].id, result.units[0].source) == (emergency.pk, "rule")
    assert result.units[0].reasons[0] == "规则：关键词“煤气” → 县应急管理局"
    assert (result.categories[0].id, result.categories[0].source) == (street_safety.pk, "rule")


def test_inactive_rule_is_ignored(active_models):
    RoutingRule.objects.create(keyword="偷盗", unit=unit_for("water"), active=False)
    assert suggest(*SECURITY_TEXT).units[0].id != unit_for("water").pk


@pytest.mark.parametrize("title,content", [("", ""), ("The street light is broken", "Please fix it"), ("？？？", "")])
def test_empty_or_non_chinese_text_gives_low_confidence_not_errors(active_models, title, content):
    result = suggest(title, content, township=_liuquan())
    assert result.categories and all(item.low_confidence for item in result.categories)
    assert all(item.low_confidence for item in result.units)


def _broken_versions(models_dir, corrupt: bool) -> None:
    models_dir.mkdir(parents=True, exist_ok=True)
    for version, target in enumerate(ClassifierVersion.Target.values, start=1):
        name = f"{target}-v{version}.model"
        if corrupt:
            (models_dir / name).write_bytes(classifier.MAGIC + b"\x00\x00\x00\x02{}garbage")
        ClassifierVersion.objects.create(version=version, target=target, path=name, active=True)


@pytest.mark.parametrize("corrupt", [False, True], ids=["missing", "corrupt"])
def test_missing_or_corrupt_model_falls_back_to_rules_and_logs_once(yiyang, models_dir, caplog, corrupt):
    classifier._unavailable_logged.clear()
    _broken_versions(models_dir, corrupt)
    township = _liuquan()
    RoutingRule.objects.create(keyword="偷盗", category=category_for("security"), unit=unit_for("security"))
    with caplog.at_level(logging.WARNING, logger="minqing.dispatch.classifier"):
        first = suggest(*SECURITY_TEXT, township=township)
        second = suggest(*SECURITY_TEXT, township=township)
    warnings = [r for r in caplog.records if "dispatch classifier unavailable" in r.getMessage()]
    assert len(warnings) == 2  # one per model file (category, unit), not one per suggestion
    for result in (first, second):
        assert all(item.source == "rule" for item in result.categories + result.units)
        assert result.units[0].id == unit_for("security").pk
        assert result.categories[0].id == category_for("security").pk
        assert result.units[-1].id == township.pk  # 属地 as the last resort


def test_no_model_and_no_rule_gives_township_only(yiyang, models_dir):
    result = suggest(*SECURITY_TEXT, township=_liuquan())
    assert result.categories == []
    assert [(item.label, item.low_confidence) for item in result.units] == [("柳泉镇", True)]
    assert result.models == {"category": None, "unit": None}


def test_models_are_loaded_once_per_version(active_models, monkeypatch):
    from minqing.dispatch import suggest as module

    module.clear_model_cache()
    calls = []
    real = module.load_or_none
    monkeypatch.setattr(module, "load_or_none", lambda path: calls.append(path) or real(path))
    for _ in range(3):
        active_model(ClassifierVersion.Target.CATEGORY)
    assert len(calls) == 1


def test_suggest_fragment_shows_categories_units_and_fill_buttons(active_models, dispatcher, client):
    client.login(username=dispatcher.username, password=PASSWORD)
    response = client.get(
        "/dispatch/suggest/", {"title": SECURITY_TEXT[0], "content": SECURITY_TEXT[1], "township": _liuquan().pk}
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "政法/社会治安" in body and "<meter" in body
    assert f'data-category="{category_for("security").pk}"' in body
    assert "依据" in body


def test_suggest_fragment_for_empty_text_is_a_hint(yiyang, dispatcher, client):
    client.login(username=dispatcher.username, password=PASSWORD)
    response = client.get("/dispatch/suggest/", {"title": "", "content": ""})
    assert response.status_code == 200 and "填写标题" in response.content.decode()


def test_suggest_fragment_refuses_citizens(yiyang, citizen, client):
    client.force_login(citizen)
    assert client.get("/dispatch/suggest/", {"title": "路灯"}).status_code == 403


def test_registration_page_has_the_suggestion_container(yiyang, dispatcher, client):
    client.login(username=dispatcher.username, password=PASSWORD)
    body = client.get("/cases/new/").content.decode()
    assert 'id="dispatch-suggestions"' in body
    assert 'hx-get="/dispatch/suggest/"' in body
    assert "dispatch/suggest.js" in body
