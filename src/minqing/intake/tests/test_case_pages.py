from __future__ import annotations

import re

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from minqing.cases import actions
from minqing.cases.models import Attachment, CaseEvent
from minqing.intake.tests.conftest import jpeg
from minqing.intake.tests.helpers import citizen_case, take_to_reply
from minqing.testing.personas import LIUQUAN


def test_my_cases_shows_plain_language_progress(citizen_client, citizen, village, dispatcher, unit):
    waiting = citizen_case(citizen, village, title="等待受理的诉求")
    assigned = citizen_case(citizen, village, title="已交办的诉求")
    actions.accept_case(assigned, dispatcher)
    assigned = actions.assign_case(assigned, dispatcher, lead_unit=unit(LIUQUAN))
    due = timezone.localtime(assigned.handle_due)
    html = citizen_client.get("/m/cases/").content.decode()
    assert waiting.reference in html and assigned.reference in html
    assert "已提交，等待县信访矛盾化解中心登记受理" in html
    assert f"已受理，正在交由柳泉镇办理，预计 {due.month}月{due.day}日 前答复" in html


def test_my_cases_lists_only_own_cases(citizen_client, village, yiyang):
    from minqing.accounts.actions import get_or_create_citizen

    other = citizen_case(get_or_create_citizen("13600000000", name="李四"), village, title="别人的诉求")
    html = citizen_client.get("/m/cases/").content.decode()
    assert other.reference not in html and "您还没有提交过诉求" in html
    assert citizen_client.get(f"/m/cases/{other.reference}/").status_code == 404
    assert citizen_client.get(f"/m/cases/{other.reference}/receipt/").status_code == 404


def test_detail_public_timeline_hides_staff_and_notes(
    citizen_client, citizen, village, dispatcher, township_handler, unit
):
    case = citizen_case(citizen, village)
    actions.add_note(case, dispatcher, text="内部备注：此人多次来访")
    take_to_reply(case, dispatcher, township_handler, unit(LIUQUAN))
    html = citizen_client.get(f"/m/cases/{case.reference}/").content.decode()
    for label in ("提交诉求", "已受理", "交由柳泉镇办理", "承办单位已签收", "承办单位已答复"):
        assert label in html
    assert "柳泉镇已答复，县信访矛盾化解中心正在审核答复" in html
    assert "内部备注" not in html and dispatcher.username not in html and township_handler.username not in html
    assert "已安排电工更换路灯" not in html  # released once the centre closes the case
    assert "/feedback/cases/" not in html


def test_detail_after_closure_shows_reply_and_rating_links(
    citizen_client, citizen, village, dispatcher, township_handler, unit
):
    case = citizen_case(citizen, village)
    take_to_reply(case, dispatcher, township_handler, unit(LIUQUAN))
    actions.close_case(case, dispatcher)
    html = citizen_client.get(f"/m/cases/{case.reference}/").content.decode()
    assert "已安排电工更换路灯，现已恢复照明。" in html and "予以支持" in html
    assert f'href="/feedback/cases/{case.pk}/rate/"' in html
    assert f'href="/feedback/cases/{case.pk}/review/"' in html


def test_add_information_with_text_and_photo(citizen_client, citizen, village):
    case = citizen_case(citizen, village)
    photo = SimpleUploadedFile("more.jpg", jpeg(), content_type="image/jpeg")
    response = citizen_client.post(f"/m/cases/{case.reference}/", {"text": "补充：晚上更暗", "photos": [photo]})
    assert response.status_code == 302
    event = CaseEvent.objects.filter(case=case, action="add_information").get()
    assert event.payload["text"] == "补充：晚上更暗" and len(event.payload["attachments"]) == 1
    assert Attachment.objects.filter(case=case).count() == 1
    assert "补充材料" in citizen_client.get(response["Location"]).content.decode()


def test_add_information_empty_is_refused(citizen_client, citizen, village):
    case = citizen_case(citizen, village)
    response = citizen_client.post(f"/m/cases/{case.reference}/", {"text": "  "})
    assert response.status_code == 400
    assert not CaseEvent.objects.filter(case=case, action="add_information").exists()


def test_merged_case_resolves_to_the_case_it_joined(citizen_client, citizen, village, dispatcher):
    first = citizen_case(citizen, village, title="第一次反映")
    second = citizen_case(citizen, village, title="重复反映")
    actions.merge_case(second, dispatcher, into=first)
    response = citizen_client.get(f"/m/cases/{second.reference.lower()}/")
    html = response.content.decode()
    assert response.status_code == 200
    assert f"诉求 {second.reference} 已与 {first.reference} 合并办理" in html
    assert re.search(r"<h2 class=\"case-title\">第一次反映</h2>", html)
