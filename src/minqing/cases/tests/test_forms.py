"""Dispatcher registration of walk-ins, letters and calls."""

from __future__ import annotations

import pytest
from django.urls import reverse

from minqing.cases.models import Case, CaseState, Category, Channel
from minqing.orgs.models import OrgUnit
from minqing.testing.personas import LIUQUAN, first_village

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def form_data(category, unit):
    village = first_village(LIUQUAN)
    return {
        "channel": Channel.WALK_IN,
        "nature": "claim",
        "request_type": "help",
        "level1": category.parent_id,
        "category": category.pk,
        "title": "邻里宅基地纠纷",
        "content": "与邻居因宅基地边界发生争执，请求调解。",
        "township": unit(LIUQUAN).pk,
        "village": village.pk,
        "address": "村东头",
        "urgency": "normal",
        "group_size": 1,
        "name": "李四",
        "phone": "13700001234",
        "id_number": "41032719800101123X",
    }


def test_registration_page_renders_for_dispatcher(client, dispatcher):
    client.force_login(dispatcher)
    response = client.get(reverse("cases:new"))
    assert response.status_code == 200
    body = response.content.decode()
    for label in ("来访", "来信", "来电", "一级分类", "事发乡镇", "柳泉镇", "身份证号", "附件"):
        assert label in body
    assert 'hx-get="/cases/options/categories/"' in body


@pytest.mark.parametrize("persona", ["township_handler", "county_manager", "inspector"])
def test_registration_is_for_dispatchers_only(client, request, persona, form_data):
    client.force_login(request.getfixturevalue(persona))
    assert client.get(reverse("cases:new")).status_code == 403
    assert client.post(reverse("cases:new"), form_data).status_code == 403
    assert not Case.objects.exists()


def test_register_walk_in_redirects_to_detail(client, dispatcher, form_data, category):
    client.force_login(dispatcher)
    response = client.post(reverse("cases:new"), form_data)
    case = Case.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("cases:detail", args=[case.pk])
    assert (case.channel, case.state, case.category) == (Channel.WALK_IN, CaseState.SUBMITTED, category)
    assert case.location_unit == first_village(LIUQUAN)
    party = case.parties.get()
    assert (party.name, party.phone, party.id_number) == ("李四", "13700001234", "41032719800101123X")
    assert case.events.get().action == "register"


def test_register_township_level_without_village(client, dispatcher, form_data, unit):
    client.force_login(dispatcher)
    form_data["village"] = ""
    assert client.post(reverse("cases:new"), form_data).status_code == 302
    assert Case.objects.get().location_unit == unit(LIUQUAN)


def test_register_anonymous_needs_no_name(client, dispatcher, form_data):
    client.force_login(dispatcher)
    form_data.update(is_anonymous="on", name="", phone="", id_number="")
    assert client.post(reverse("cases:new"), form_data).status_code == 302
    case = Case.objects.get()
    assert case.is_anonymous and not case.parties.exists()


def test_missing_fields_show_inline_chinese_errors(client, dispatcher, form_data):
    client.force_login(dispatcher)
    form_data.update(title="", name="", phone="12ab", id_number="123")
    response = client.post(reverse("cases:new"), form_data)
    assert response.status_code == 422
    body = response.content.decode()
    assert "这个字段是必填项" in body
    assert "请填写信访人姓名，或选择匿名" in body
    assert "请输入有效的电话号码" in body and "请输入18位身份证号" in body
    assert not Case.objects.exists()


def test_category_must_belong_to_level1(client, dispatcher, form_data, category):
    other_level1 = Category.objects.filter(parent=None).exclude(pk=category.parent_id).first()
    client.force_login(dispatcher)
    form_data["level1"] = other_level1.pk
    assert client.post(reverse("cases:new"), form_data).status_code == 422
    assert not Case.objects.exists()


def test_township_outside_remit_is_refused(client, dispatcher, form_data):
    foreign = OrgUnit.objects.create(code="990001", name="外县", kind="county")
    township = OrgUnit.objects.create(code="990001101", name="外县镇", kind="township", parent=foreign)
    client.force_login(dispatcher)
    form_data.update(township=township.pk, village="")
    assert client.post(reverse("cases:new"), form_data).status_code == 422
    assert not Case.objects.exists()


def test_duplicate_identity_warns_and_needs_confirmation(client, dispatcher, registered, form_data):
    client.force_login(dispatcher)
    form_data["phone"] = "139 1234 5678"  # same number as `registered`, written differently
    response = client.post(reverse("cases:new"), form_data)
    assert response.status_code == 422
    body = response.content.decode()
    assert registered.reference in body
    assert "该信访人已有未办结案件" in body
    assert Case.objects.count() == 1

    form_data["confirm_duplicates"] = "on"
    assert client.post(reverse("cases:new"), form_data).status_code == 302
    assert Case.objects.count() == 2


def test_duplicate_warning_by_id_number_on_blur(client, dispatcher, registered):
    client.force_login(dispatcher)
    response = client.post(reverse("cases:duplicates"), {"id_number": "410327198001011234"}, **HTMX)
    body = response.content.decode()
    assert response.status_code == 200
    assert registered.reference in body and "confirm_duplicates" in body
    response = client.post(reverse("cases:duplicates"), {"phone": "13000000000"}, **HTMX)
    assert registered.reference not in response.content.decode()


def test_duplicate_check_is_scoped(client, registered, township_handler):
    client.force_login(township_handler)
    assert client.post(reverse("cases:duplicates"), {"phone": "13912345678"}).status_code == 403


def test_level1_drives_level2_options(client, dispatcher, category):
    client.force_login(dispatcher)
    response = client.get(reverse("cases:category_options"), {"level1": category.parent_id}, **HTMX)
    body = response.content.decode()
    assert f'value="{category.pk}"' in body and category.name in body
    assert body.count("<option") == Category.objects.filter(parent_id=category.parent_id, active=True).count() + 1


def test_township_drives_village_options(client, dispatcher, unit):
    client.force_login(dispatcher)
    body = client.get(reverse("cases:village_options"), {"township": unit(LIUQUAN).pk}, **HTMX).content.decode()
    assert first_village(LIUQUAN).name in body
    body = client.get(reverse("cases:village_options"), {"township": "x"}, **HTMX).content.decode()
    assert body.count("<option") == 1
