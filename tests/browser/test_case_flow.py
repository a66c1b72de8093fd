"""A case from walk-in registration to closure, through the staff console in Chromium."""

from __future__ import annotations

import pytest

from minqing.accounts.models import Role
from minqing.cases.models import Case, CaseState
from minqing.testing.browser import screenshot
from minqing.testing.personas import CENTRE, LIUQUAN, PASSWORD, ensure_reference_data, make_staff

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def staff():
    ensure_reference_data()
    return {
        "dispatcher": make_staff("flow_dispatcher", Role.DISPATCHER, CENTRE),
        "handler": make_staff("flow_handler", Role.HANDLER, LIUQUAN),
    }


def log_in(page, base: str, username: str) -> None:
    page.context.clear_cookies()
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/")


def main_text(page) -> str:
    return page.locator("main").inner_text()


def test_walk_in_case_from_registration_to_closure(live_server, page, staff):
    base = live_server.url

    # 1. The dispatcher registers a walk-in.
    log_in(page, base, "flow_dispatcher")
    page.click("nav >> text=登记案件")
    page.wait_for_url(f"{base}/cases/new/")
    assert "登记来访/来信/来电" in main_text(page)
    page.select_option("#id_channel", "walk_in")
    page.select_option("#id_level1", label="城乡建设")
    page.wait_for_selector("#id_category option:text('村镇建设')", state="attached")
    page.select_option("#id_category", label="村镇建设")
    page.fill("#id_title", "村道积水严重影响出行")
    page.fill("#id_content", "雨后村东主干道长期积水，老人孩子出行困难，请求修缮排水沟。")
    page.select_option("#id_township", label="柳泉镇")
    page.wait_for_selector("#id_village option:nth-child(2)", state="attached")
    page.select_option("#id_village", index=1)
    page.fill("#id_name", "张三")
    page.fill("#id_phone", "13811112222")
    page.fill("#id_id_number", "410327198502021234")
    screenshot(page, "case_flow_1")
    page.click("form.register button[type=submit]")
    page.wait_for_url(f"{base}/cases/*/")
    case = Case.objects.get()
    body = main_text(page)
    assert case.reference in body and "待登记" in body and "138****2222" in body
    assert "13811112222" not in page.content()
    screenshot(page, "case_flow_2")

    # 2. Accept (htmx: the case panel is swapped in place).
    page.click("#action-accept summary")
    page.select_option("#id_accept_category", label="村镇建设")
    page.click("#action-accept button[type=submit]")
    page.wait_for_selector(".flash:text('已完成：受理')")
    assert "已受理" in page.locator(".case-head").inner_text()

    # 3. Assign to 柳泉镇.
    page.click("#action-assign summary")
    page.select_option("#id_assign_lead_unit", label="柳泉镇")
    page.fill("#id_assign_note", "请尽快核实处理")
    page.click("#action-assign button[type=submit]")
    page.wait_for_selector(".flash:text('已完成：交办')")
    body = main_text(page)
    assert "已交办" in page.locator(".case-head").inner_text()
    assert "柳泉镇" in body and "请尽快核实处理" in body
    screenshot(page, "case_flow_3")

    # 4. The township handler finds it in the inbox and signs for it.
    log_in(page, base, "flow_handler")
    page.goto(f"{base}/cases/inbox/")
    assert "待签收" in main_text(page)
    assert case.reference in main_text(page)  # the in-app notification
    screenshot(page, "case_flow_4")
    page.click(".q-to_sign")
    page.click(f"text={case.reference}")
    page.wait_for_url(f"{base}/cases/{case.pk}/")
    page.click("#action-sign_for button[type=submit]")
    page.wait_for_selector(".flash:text('已完成：签收')")
    assert "办理中" in page.locator(".case-head").inner_text()

    # 5. An empty reply is refused inline; then a real reply.
    page.click("#action-reply summary")
    page.click("#action-reply button[type=submit]")
    page.wait_for_selector("#action-reply .errorlist")
    assert "这个字段是必填项" in page.locator("#action-reply").inner_text()
    page.select_option("#id_reply_outcome", label="予以支持")
    page.fill("#id_reply_reply_text", "已组织人员疏通排水沟，道路积水已排除。")
    page.click("#action-reply button[type=submit]")
    page.wait_for_selector(".flash:text('已完成：答复')")
    assert "已答复" in page.locator(".case-head").inner_text()
    screenshot(page, "case_flow_5")

    # 6. The dispatcher closes it.
    log_in(page, base, "flow_dispatcher")
    page.goto(f"{base}/cases/?queue=replied")
    assert case.reference in main_text(page)
    page.click(f"text={case.reference}")
    page.click("#action-close summary")
    page.click("#action-close button[type=submit]")
    page.wait_for_selector(".flash:text('已完成：办结')")
    body = main_text(page)
    assert "已办结" in page.locator(".case-head").inner_text()
    for label in ("登记", "受理", "交办", "签收", "答复", "办结"):
        assert label in page.locator("ol.timeline").inner_text()
    assert "已组织人员疏通排水沟" in body
    screenshot(page, "case_flow_6")
    assert Case.objects.get().state == CaseState.CLOSED


def test_stale_page_gets_409_message(live_server, page, staff):
    from minqing.cases import actions
    from minqing.cases.models import Category, Channel
    from minqing.testing.personas import first_village

    case = actions.register_case(
        actions.NewCase(
            channel=Channel.PHONE,
            title="来电反映噪音",
            content="夜间施工噪音扰民。",
            location_unit=first_village(LIUQUAN),
            category=Category.objects.filter(parent__isnull=False).first(),
            parties=[actions.PartyInput(name="钱六")],
        ),
        staff["dispatcher"],
    )
    base = live_server.url
    log_in(page, base, "flow_dispatcher")
    page.goto(f"{base}/cases/{case.pk}/")
    actions.accept_case(case, staff["dispatcher"])  # someone else acts meanwhile
    page.click("#action-decline summary")
    page.fill("#id_decline_reason", "不属于信访事项")
    page.click("#action-decline button[type=submit]")
    page.wait_for_selector("#action-decline .form-error")
    assert "该案件刚刚已被他人处理" in page.locator("#action-decline").inner_text()
    screenshot(page, "case_flow_stale")
    assert Case.objects.get(pk=case.pk).state == CaseState.ACCEPTED
