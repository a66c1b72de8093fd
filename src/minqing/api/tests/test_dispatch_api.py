from __future__ import annotations

import pytest

from minqing.dispatch.models import RoutingRule
from minqing.dispatch.related import clear_text_cache
from minqing.dispatch.suggest import clear_model_cache
from minqing.dispatch.tests.factories import category_for, register, unit_for
from minqing.testing.personas import LIUQUAN, first_village


@pytest.fixture(autouse=True)
def _fresh_dispatch_caches():
    clear_model_cache()
    clear_text_cache()
    yield
    clear_model_cache()
    clear_text_cache()


def test_suggestions_give_rule_items_with_reasons(api_as, dispatcher, settings, tmp_path):
    settings.MINQING_MODELS_DIR = tmp_path
    RoutingRule.objects.create(keyword="偷盗", category=category_for("security"), unit=unit_for("security"))
    response = api_as(dispatcher).get(
        "/staff/suggestions", {"title": "夜间有人偷盗", "content": "小偷撬门", "township": LIUQUAN}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["categories"][0]["label"] == "政法/社会治安"
    assert body["units"][0] == {
        "label": "县公安局",
        "confidence": 0.95,
        "reasons": ["规则：关键词“偷盗” → 县公安局", "规则：政法/社会治安默认由县公安局承办"],
        "source": "rule",
        "id": unit_for("security").pk,
        "code": "410327D01",
        "parent_id": None,
        "low_confidence": False,
    }
    assert body["units"][-1]["label"] == "柳泉镇"
    assert body["models"] == {"category": None, "unit": None}


def test_suggestions_for_empty_text_are_not_an_error(api_as, dispatcher, settings, tmp_path):
    settings.MINQING_MODELS_DIR = tmp_path
    response = api_as(dispatcher).get("/staff/suggestions")
    assert response.status_code == 200 and response.json()["categories"] == []


def test_suggestions_are_for_staff_only(api_as, citizen):
    assert api_as(citizen).get("/staff/suggestions", {"title": "路灯"}).status_code == 403
    assert api_as(None).get("/staff/suggestions", {"title": "路灯"}).status_code == 401


def test_related_lists_same_petitioner_cases(api_as, dispatcher):
    village = first_village(LIUQUAN)
    earlier = register(dispatcher, village, "机井坏了", "浇地没有水", phone="13700001234")
    new = register(dispatcher, village, "路灯不亮", "东街路灯不亮", phone="13700001234")
    response = api_as(dispatcher).get(f"/staff/cases/{new.pk}/related")
    assert response.status_code == 200
    (item,) = response.json()
    assert (item["reference"], item["state"]) == (earlier.reference, "submitted")
    assert "同一信访人（电话）" in item["reasons"]


def test_related_outside_the_remit_is_404(api_as, dispatcher, department_handler):
    case = register(dispatcher, first_village(LIUQUAN), "路灯不亮", "东街路灯不亮")
    response = api_as(department_handler).get(f"/staff/cases/{case.pk}/related")
    assert response.status_code == 404
