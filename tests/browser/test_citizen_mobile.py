"""Citizen mobile pages (/m/) in Chromium at phone size: SMS login, a report with a photo, the
case handled by staff, the citizen reading the reply and rating it; and a report written offline
that is sent exactly once when the connection returns."""

from __future__ import annotations

import io
import re

import pytest
from PIL import Image

from minqing.accounts.models import Role
from minqing.cases import actions
from minqing.cases.models import Attachment, Case, CaseState
from minqing.core.sms import MemorySmsBackend
from minqing.orgs.models import OrgUnit
from minqing.testing.browser import screenshot
from minqing.testing.personas import CENTRE, LIUQUAN, ensure_reference_data, make_staff

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = "13700001234"
CODE_RE = re.compile(r"验证码是(\d{6})")


@pytest.fixture
def staff():
    ensure_reference_data()
    return {
        "dispatcher": make_staff("m_dispatcher", Role.DISPATCHER, CENTRE),
        "handler": make_staff("m_handler", Role.HANDLER, LIUQUAN),
    }


@pytest.fixture
def photo(tmp_path):
    """A phone-camera-sized JPEG, so the browser has something to shrink."""
    path = tmp_path / "现场照片.jpg"
    image = Image.new("RGB", (3000, 2000), "#7aa0c4")
    for x in range(0, 3000, 200):
        image.paste((200, 60, 40), (x, 800, x + 100, 1200))
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=92)
    path.write_bytes(out.getvalue())
    return path


def sms_login(page, base: str, phone: str = PHONE) -> None:
    page.goto(f"{base}/m/login/")
    page.fill("#id_phone", phone)
    page.click("form.stack button.primary")
    page.wait_for_selector("#id_code")
    texts = [m.text for m in MemorySmsBackend.outbox if m.phone == phone]
    code = CODE_RE.search(texts[-1]).group(1)
    page.fill("#id_code", code)
    page.click("form.stack button.primary")
    page.wait_for_url(f"{base}/m/cases/")


def fill_report(page, photo_path) -> None:
    page.select_option("#id_level1", label="城乡建设")
    page.wait_for_selector("#id_category option:text('村镇建设')", state="attached")
    page.select_option("#id_category", label="村镇建设")
    page.select_option("#id_township", label="柳泉镇")
    page.wait_for_selector("#id_village option:nth-child(2)", state="attached")
    page.select_option("#id_village", index=1)
    page.fill("#id_content", "村东头道路被人堆放建材，车辆无法通行，老人孩子出行很不方便，请尽快处理。")
    page.fill("#id_address", "村东头桥边")
    page.fill("#id_name", "王群众")
    page.set_input_files("#id_photos", str(photo_path))
    page.wait_for_selector("#photo-status:text('已选择 1 张照片')")
    page.wait_for_selector("#photo-previews img")


def wait_for_service_worker(page) -> None:
    assert page.evaluate("navigator.serviceWorker.ready.then(reg => reg.active.scriptURL)").endswith("/m/sw.js")


def stored_reports(page) -> int:
    return page.evaluate("MinqingOutbox.all().then(rows => rows.length)")


def test_citizen_reports_with_photo_and_reads_the_reply(live_server, phone_page, staff, photo):
    page, base = phone_page, live_server.url

    # 1. Log in with the SMS code from the development backend.
    page.goto(f"{base}/m/")
    screenshot(page, "mobile_home")
    sms_login(page, base)
    assert "您还没有提交过诉求" in page.locator("main").inner_text()

    # 2. Report with a photo (shrunk in the browser, sent through the API).
    page.goto(f"{base}/m/report/")
    fill_report(page, photo)
    screenshot(page, "mobile_report")
    page.click("#submit-report")
    page.wait_for_url(re.compile(r".*/m/cases/[A-Z0-9-]+/receipt/$"))
    case = Case.objects.get()
    assert page.locator("#receipt-reference").inner_text() == case.reference
    assert page.locator("#receipt-query-code").inner_text() == case.query_code
    assert case.citizen.phone == PHONE and case.title == "村东头道路被人堆放建材，车辆无法通行，老"
    attachment = Attachment.objects.get(case=case)
    assert attachment.content_type == "image/jpeg"
    with Image.open(attachment.file.path) as stored:
        assert max(stored.size) <= 1600  # shrunk before upload
    screenshot(page, "mobile_receipt")

    # 3. Staff accept and assign; the township handler signs for it and replies.
    dispatcher, handler = staff["dispatcher"], staff["handler"]
    liuquan = OrgUnit.objects.get(code=LIUQUAN)
    actions.accept_case(case, dispatcher)
    actions.assign_case(case, dispatcher, lead_unit=liuquan)
    page.goto(f"{base}/m/cases/")
    assert "已受理，正在交由柳泉镇办理，预计" in page.locator("main").inner_text()
    screenshot(page, "mobile_my_cases")
    actions.sign_for_case(case, handler)
    actions.reply_case(case, handler, outcome="supported", reply_text="已组织人员清理建材，道路已恢复通行。")

    # 4. The citizen follows it in plain language; the reply is shown once the centre closes the case.
    page.click(f"text={case.reference}")
    page.wait_for_url(f"{base}/m/cases/{case.reference}/")
    assert "柳泉镇已答复，县信访矛盾化解中心正在审核答复" in page.locator("#case-progress").inner_text()
    actions.close_case(case, dispatcher)
    page.reload()
    assert "已组织人员清理建材，道路已恢复通行。" in page.locator("#case-reply").inner_text()
    timeline = page.locator("ol.timeline").inner_text()
    for label in ("提交诉求", "已受理", "交由柳泉镇办理", "承办单位已签收", "承办单位已答复", "已办结"):
        assert label in timeline
    assert "m_handler" not in page.content() and "m_dispatcher" not in page.content()
    screenshot(page, "mobile_case_detail")

    # 5. The citizen rates it (the feedback app's page, linked by path).
    page.click("text=评价办理结果")
    page.wait_for_url(f"{base}/feedback/cases/{case.pk}/rate/")
    page.check("input[name=score][value=satisfied]")
    page.click("button[type=submit].primary")
    page.wait_for_selector("text=感谢您的评价")
    assert case.events.filter(action="rate").get().payload["score"] == "satisfied"
    assert Case.objects.get().state == CaseState.CLOSED
    screenshot(page, "mobile_rated")


def test_report_written_offline_is_sent_once_when_back_online(live_server, phone_page, staff, photo):
    page, base = phone_page, live_server.url
    sms_login(page, base)
    page.goto(f"{base}/m/report/")
    wait_for_service_worker(page)
    fill_report(page, photo)

    # Offline: the report (with its photo) is kept in IndexedDB; nothing reaches the server.
    page.context.set_offline(True)
    page.click("#submit-report")
    page.wait_for_selector("#report-result:text('已保存，联网后自动提交')")
    assert "联网后自动提交" in page.locator("#outbox-status").inner_text()
    assert stored_reports(page) == 1
    assert Case.objects.count() == 0
    screenshot(page, "mobile_offline_saved")

    # Back online: the outbox sends it (case first, then the photo), with the same idempotency key.
    page.context.set_offline(False)
    page.wait_for_selector("#report-result .sent-reference", timeout=30_000)
    case = Case.objects.get()
    assert page.locator("#report-result .sent-reference").inner_text() == case.reference
    page.wait_for_function("MinqingOutbox.all().then(rows => rows.length === 0)")
    assert Attachment.objects.filter(case=case).count() == 1
    screenshot(page, "mobile_offline_sent")

    # Reloading (which flushes the outbox again) creates nothing more.
    page.reload()
    page.wait_for_selector("#report-form")
    page.wait_for_timeout(1500)
    assert stored_reports(page) == 0
    assert Case.objects.count() == 1 and Attachment.objects.count() == 1
