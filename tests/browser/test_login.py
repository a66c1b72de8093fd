"""The staff login page in a real browser (Chromium through Playwright)."""

from __future__ import annotations

import pytest

from minqing.accounts.actions import create_staff_user, grant_membership
from minqing.accounts.models import Role
from minqing.orgs.models import OrgUnit, UnitKind
from minqing.testing.browser import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "Browser@2025"


@pytest.fixture
def dispatcher():
    county = OrgUnit.objects.create(code="990001", name="测试县", kind=UnitKind.COUNTY)
    office = OrgUnit.objects.create(code="990001X01", name="测试调度中心", kind=UnitKind.OFFICE, parent=county)
    user = create_staff_user("browser_dispatcher", PASSWORD, display_name="测调度")
    grant_membership(user, office, Role.DISPATCHER)
    return user


def test_login_dispatcher_sees_home_with_role(live_server, page, dispatcher):
    page.goto(f"{live_server.url}/accounts/login/")
    assert "工作人员登录" in page.locator("h1").inner_text()
    screenshot(page, "login_page")

    page.fill("#id_username", "browser_dispatcher")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")

    page.wait_for_url(f"{live_server.url}/")
    body = page.locator("main, body").first.inner_text()
    assert "测调度" in body
    assert str(Role.DISPATCHER.label) in body
    assert "测试调度中心" in body
    screenshot(page, "home_dispatcher")
