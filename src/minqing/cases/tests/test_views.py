"""The staff console views: who sees what, actions through htmx and plain posts, refusals."""

from __future__ import annotations

import io

import pytest
from django.urls import reverse
from PIL import Image

from minqing.cases import actions
from minqing.cases.attachments import UploadedFile
from minqing.cases.models import Case, CaseEvent, CaseState, Outcome
from minqing.notify.models import Notification
from minqing.testing.personas import LIUQUAN, POLICE

HTMX = {"HTTP_HX_REQUEST": "true"}


def png_bytes(size: int = 8) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (size, size), (30, 120, 200)).save(out, format="PNG")
    return out.getvalue()


PNG = png_bytes()


def snapshot(case: Case) -> tuple:
    fresh = Case.objects.get(pk=case.pk)
    return fresh.state, fresh.version, fresh.event_count, CaseEvent.objects.filter(case=case).count()


def act(client, case: Case, action: str, *, version: int | None = None, htmx: bool = False, **data):
    fresh = Case.objects.get(pk=case.pk)
    data["expected_version"] = fresh.version if version is None else version
    extra = HTMX if htmx else {}
    return client.post(reverse("cases:act", args=[case.pk, action]), data, **extra)


@pytest.fixture
def assigned(registered, dispatcher, unit):
    case = actions.accept_case(registered, dispatcher)
    return actions.assign_case(case, dispatcher, lead_unit=unit(LIUQUAN))


@pytest.fixture
def replied(assigned, township_handler):
    case = actions.sign_for_case(assigned, township_handler)
    return actions.reply_case(case, township_handler, outcome=Outcome.SUPPORTED, reply_text="已清理道路，恢复通行。")


# --- Who sees which page ---------------------------------------------------------------


@pytest.mark.parametrize(
    "persona",
    ["dispatcher", "township_handler", "township_manager", "department_handler", "county_manager", "inspector"],
)
def test_inbox_and_list_render_for_staff(client, request, persona, registered):
    client.force_login(request.getfixturevalue(persona))
    inbox = client.get(reverse("cases:inbox"))
    assert inbox.status_code == 200
    assert "我的待办" in inbox.content.decode()
    assert client.get(reverse("cases:list")).status_code == 200


def test_console_refuses_citizens_and_anonymous(client, citizen):
    assert client.get(reverse("cases:inbox")).status_code == 302
    client.force_login(citizen)
    assert client.get(reverse("cases:inbox")).status_code == 403
    assert client.get(reverse("cases:list")).status_code == 403


@pytest.mark.parametrize("persona", ["dispatcher", "county_manager", "inspector", "township_handler", "informant"])
def test_detail_renders_for_users_in_remit(client, request, persona, registered):
    client.force_login(request.getfixturevalue(persona))
    response = client.get(reverse("cases:detail", args=[registered.pk]))
    assert response.status_code == 200
    body = response.content.decode()
    assert registered.reference in body
    assert "待登记" in body
    assert "139****5678" in body and "13912345678" not in body
    assert "410327198001011234" not in body


@pytest.mark.parametrize("persona", ["outsider", "other_township_handler", "department_handler"])
def test_detail_is_404_outside_remit(client, request, persona, registered):
    client.force_login(request.getfixturevalue(persona))
    assert client.get(reverse("cases:detail", args=[registered.pk])).status_code == 404


def test_detail_shows_only_allowed_actions(client, dispatcher, township_handler, registered):
    client.force_login(dispatcher)
    body = client.get(reverse("cases:detail", args=[registered.pk])).content.decode()
    assert 'id="action-accept"' in body and 'id="action-decline"' in body
    assert 'id="action-sign_for"' not in body and 'id="action-close"' not in body
    client.force_login(township_handler)
    body = client.get(reverse("cases:detail", args=[registered.pk])).content.decode()
    assert 'id="action-accept"' not in body
    assert "您当前没有可执行的操作" in body


def test_assigned_case_offers_sign_for_to_lead_unit_only(client, assigned, township_handler, dispatcher):
    client.force_login(township_handler)
    body = client.get(reverse("cases:detail", args=[assigned.pk])).content.decode()
    assert 'id="action-sign_for"' in body and 'id="action-return"' in body
    client.force_login(dispatcher)
    body = client.get(reverse("cases:detail", args=[assigned.pk])).content.decode()
    assert 'id="action-sign_for"' not in body and 'id="action-reassign"' in body
    assert "柳泉镇" in body and "未签收" in body


# --- Actions -------------------------------------------------------------------------------


def test_full_flow_through_the_console(client, registered, dispatcher, township_handler, category, unit):
    client.force_login(dispatcher)
    response = act(client, registered, "accept", category=category.pk, urgency="normal")
    assert response.status_code == 302
    assert Case.objects.get(pk=registered.pk).state == CaseState.ACCEPTED
    response = act(
        client, registered, "assign", htmx=True, lead_unit=unit(LIUQUAN).pk, co_units=[unit(POLICE).pk], note="请核实"
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="case-main"' in body and "已交办" in body and "<html" not in body
    assert "已完成：交办" in body

    client.force_login(township_handler)
    assert act(client, registered, "sign_for", htmx=True).status_code == 200
    assert Case.objects.get(pk=registered.pk).state == CaseState.IN_PROGRESS
    response = act(client, registered, "reply", outcome=Outcome.SUPPORTED, reply_text="已协调清理道路。")
    assert response.status_code == 302

    client.force_login(dispatcher)
    assert act(client, registered, "close", note="同意办结").status_code == 302
    case = Case.objects.get(pk=registered.pk)
    assert case.state == CaseState.CLOSED
    assert list(CaseEvent.objects.filter(case=case).values_list("action", flat=True)) == [
        "register",
        "accept",
        "assign",
        "sign_for",
        "reply",
        "close",
    ]
    body = client.get(reverse("cases:detail", args=[case.pk])).content.decode()
    assert "公安局" in body or unit(POLICE).name in body
    assert "已协调清理道路。" in body


def test_wrong_state_post_is_409_with_chinese_message_and_no_change(client, registered, dispatcher):
    client.force_login(dispatcher)
    before = snapshot(registered)
    response = act(client, registered, "close", htmx=True)
    assert response.status_code == 409
    body = response.content.decode()
    assert "案件当前状态为“待登记”，不能执行“办结”" in body
    assert response["HX-Retarget"] == "#action-close"
    assert snapshot(registered) == before

    response = act(client, registered, "close")
    assert response.status_code == 409
    assert "不能执行“办结”" in response.content.decode()
    assert snapshot(registered) == before


def test_stale_version_is_409_and_changes_nothing(client, registered, dispatcher, category):
    client.force_login(dispatcher)
    actions.add_note(registered, dispatcher, text="先记一笔")
    before = snapshot(registered)
    response = act(
        client, registered, "accept", version=before[1] - 1, htmx=True, category=category.pk, urgency="normal"
    )
    assert response.status_code == 409
    assert "该案件刚刚已被他人处理" in response.content.decode()
    assert response["HX-Retarget"] == "#action-accept"
    assert snapshot(registered) == before

    response = act(client, registered, "add_note", version=before[1] - 1, text="另一条")
    assert response.status_code == 409
    assert snapshot(registered) == before


def test_not_permitted_post_is_403_and_changes_nothing(client, registered, township_handler, category):
    client.force_login(township_handler)
    before = snapshot(registered)
    response = act(client, registered, "accept", category=category.pk, urgency="normal")
    assert response.status_code == 403
    assert "您无权对该案件执行“受理”" in response.content.decode()
    assert snapshot(registered) == before


@pytest.mark.parametrize("persona", ["outsider", "other_township_handler", "department_handler", "citizen"])
def test_posts_from_outside_remit_change_nothing(client, request, persona, registered, category):
    client.force_login(request.getfixturevalue(persona))
    before = snapshot(registered)
    response = act(client, registered, "accept", category=category.pk, urgency="normal")
    assert response.status_code in (403, 404)
    response = act(client, registered, "add_note", text="越权备注")
    assert response.status_code in (403, 404)
    assert snapshot(registered) == before


def test_inline_form_errors_are_in_chinese(client, assigned, township_handler):
    client.force_login(township_handler)
    actions.sign_for_case(assigned, township_handler)
    before = snapshot(assigned)
    response = act(client, assigned, "reply", htmx=True, outcome="", reply_text="")
    assert response.status_code == 422
    body = response.content.decode()
    assert "这个字段是必填项" in body
    assert response["HX-Retarget"] == "#action-reply"
    assert 'id="action-reply" open' in body
    assert snapshot(assigned) == before

    response = act(client, assigned, "reply", outcome=Outcome.SUPPORTED, reply_text="好")
    assert response.status_code == 422
    assert "至少" in response.content.decode()
    assert snapshot(assigned) == before


def test_domain_refusal_shows_message(client, registered, dispatcher):
    client.force_login(dispatcher)
    before = snapshot(registered)
    # Accepting needs a level-2 category: a level-1 id is not among the choices.
    response = act(client, registered, "decline", htmx=True, reason="   ")
    assert response.status_code == 422
    assert snapshot(registered) == before


def test_assign_refuses_deadline_after_legal_due(client, registered, dispatcher, unit):
    client.force_login(dispatcher)
    case = actions.accept_case(registered, dispatcher)
    before = snapshot(case)
    late = (case.handle_due.date().replace(year=case.handle_due.year + 1)).isoformat()
    response = act(client, case, "assign", htmx=True, lead_unit=unit(LIUQUAN).pk, deadline=late)
    assert response.status_code == 422
    assert "交办期限不能晚于法定办理期限" in response.content.decode()
    assert snapshot(case) == before


def test_replied_case_can_be_sent_back(client, replied, dispatcher):
    client.force_login(dispatcher)
    assert act(client, replied, "send_back", reason="答复过于简单").status_code == 302
    assert Case.objects.get(pk=replied.pk).state == CaseState.IN_PROGRESS


def test_mediation_record_and_reopen(client, replied, dispatcher, township_handler):
    client.force_login(dispatcher)
    assert act(client, replied, "close").status_code == 302
    assert act(client, replied, "reopen", reason="群众不满意").status_code == 302
    client.force_login(township_handler)
    assert act(client, replied, "sign_for").status_code == 302
    response = act(client, replied, "add_mediation_record", summary="双方到场协商", participants="王大力、村委")
    assert response.status_code == 302
    body = client.get(reverse("cases:detail", args=[replied.pk])).content.decode()
    assert "双方到场协商" in body and "调解记录" in body and "群众不满意" in body


# --- Query budget ---------------------------------------------------------------------------


def test_detail_runs_at_most_12_queries_with_a_long_timeline(
    client, registered, dispatcher, django_assert_max_num_queries, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    case = actions.accept_case(registered, dispatcher)
    for number in range(55):
        actions.add_note(case, dispatcher, text=f"第{number}条备注")
    actions.add_information(case, dispatcher, text="材料", attachments=[UploadedFile("a.png", PNG)])
    assert CaseEvent.objects.filter(case=case).count() >= 57
    client.force_login(dispatcher)
    client.get(reverse("cases:inbox"))  # warm the session
    with django_assert_max_num_queries(12):
        response = client.get(reverse("cases:detail", args=[case.pk]))
    assert response.status_code == 200
    assert "第54条备注" in response.content.decode()
    assert 'id="action-assign"' in response.content.decode()


def test_list_runs_few_queries(client, new_case, dispatcher, django_assert_max_num_queries):
    for _ in range(5):
        actions.register_case(new_case(), dispatcher)
    client.force_login(dispatcher)
    client.get(reverse("cases:inbox"))
    # 8 for the view, 3 for the idle-timeout session write (savepoint, update, release).
    with django_assert_max_num_queries(12):
        response = client.get(reverse("cases:list"), {"sort": "due"})
    assert response.status_code == 200


# --- List -------------------------------------------------------------------------------------


def test_list_masks_phones_and_filters(client, registered, new_case, dispatcher):
    other = actions.register_case(new_case(title="噪音扰民", channel="letter"), dispatcher)
    client.force_login(dispatcher)
    body = client.get(reverse("cases:list")).content.decode()
    assert registered.reference in body and other.reference in body
    assert "139****5678" in body and "13912345678" not in body
    body = client.get(reverse("cases:list"), {"q": "噪音"}).content.decode()
    assert other.reference in body and registered.reference not in body
    body = client.get(reverse("cases:list"), {"channel": "letter"}).content.decode()
    assert other.reference in body and registered.reference not in body
    body = client.get(reverse("cases:list"), {"state": "closed"}).content.decode()
    assert "没有符合条件的案件" in body
    body = client.get(reverse("cases:list"), {"q": registered.reference[-6:]}).content.decode()
    assert registered.reference in body


def test_list_htmx_returns_results_fragment(client, registered, dispatcher):
    client.force_login(dispatcher)
    response = client.get(reverse("cases:list"), {"state": "submitted"}, **HTMX)
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="results">')
    assert registered.reference in body


def test_list_pages_without_full_count(client, new_case, dispatcher, monkeypatch):
    from minqing.cases import views

    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    cases = [actions.register_case(new_case(), dispatcher) for _ in range(3)]
    client.force_login(dispatcher)
    first = client.get(reverse("cases:list")).content.decode()
    assert "下一页" in first and "共 3 条" in first
    second = client.get(reverse("cases:list"), {"page": 2}).content.decode()
    assert cases[0].reference in second and "下一页" not in second and "上一页" in second


def test_queue_links_filter_the_list(client, assigned, registered, township_handler, other_township_handler):
    client.force_login(township_handler)
    inbox = client.get(reverse("cases:inbox")).content.decode()
    assert "/cases/?queue=to_sign" in inbox
    body = client.get(reverse("cases:list"), {"queue": "to_sign"}).content.decode()
    assert assigned.reference in body
    body = client.get(reverse("cases:list"), {"queue": "to_register"}).content.decode()
    assert assigned.reference not in body  # a handler has no dispatch queue
    client.force_login(other_township_handler)
    assert assigned.reference not in client.get(reverse("cases:list")).content.decode()


def test_inbox_counts(assigned, new_case, dispatcher, township_handler):
    from minqing.cases.selectors import queue_counts

    actions.register_case(new_case(), dispatcher)
    assert queue_counts(dispatcher)["to_register"] == 1
    assert queue_counts(township_handler) == {"to_sign": 1, "in_progress": 0, "nearly_due": 0, "overdue": 0}


def test_home_shows_inbox_summary(client, assigned, township_handler):
    client.force_login(township_handler)
    body = client.get("/").content.decode()
    assert "待签收" in body and "/cases/?queue=to_sign" in body


# --- Notifications and attachments --------------------------------------------------------


def test_mark_notification_read(client, township_handler, assigned, dispatcher):
    note = Notification.objects.get(recipient=township_handler, kind="assigned", channel="in_app")
    client.force_login(dispatcher)
    client.post(reverse("cases:notification_read", args=[note.pk]), **HTMX)
    note.refresh_from_db()
    assert note.read_at is None  # someone else's message is untouched
    client.force_login(township_handler)
    assert assigned.reference in client.get(reverse("cases:inbox")).content.decode()
    response = client.post(reverse("cases:notification_read", args=[note.pk]), **HTMX)
    assert response.status_code == 200 and response.content == b""
    note.refresh_from_db()
    assert note.read_at is not None


def test_attachment_served_only_within_remit(client, new_case, dispatcher, outsider, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    case = actions.register_case(new_case(attachments=[UploadedFile("现场.png", PNG)]), dispatcher)
    stored = case.attachments.get()
    url = reverse("cases:attachment", args=[case.pk, stored.pk])
    client.force_login(dispatcher)
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert b"".join(response.streaming_content).startswith(b"\x89PNG")
    assert client.get(reverse("cases:attachment", args=[case.pk, stored.pk + 999])).status_code == 404
    client.force_login(outsider)
    assert client.get(url).status_code == 404


def test_case_panels_load_separately_and_stay_scoped(client, registered, dispatcher, other_township_handler):
    from minqing.cases.selectors import CASE_PANELS

    client.force_login(dispatcher)
    page = client.get(reverse("cases:detail", args=[registered.pk])).content.decode()
    for slot in range(len(CASE_PANELS)):
        url = reverse("cases:panel", args=[registered.pk, slot])
        assert url in page
        assert client.get(url).status_code == 200
    client.force_login(other_township_handler)
    assert client.get(reverse("cases:panel", args=[registered.pk, 0])).status_code == 404
    client.force_login(dispatcher)
    assert client.get(reverse("cases:panel", args=[registered.pk, len(CASE_PANELS)])).status_code == 404
