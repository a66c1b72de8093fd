"""Period reports: figures, narrative, PDF text (pdftotext), xlsx, push once."""

from __future__ import annotations

import io
import subprocess
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from openpyxl import load_workbook

from minqing.notify.models import Notification
from minqing.stats import metrics, reports, rollups
from minqing.stats.models import Report
from minqing.stats.tests.factories import CasePlan, drive
from minqing.stats.tests.test_views import login
from minqing.testing.personas import HANCHENG, LIUQUAN

pytestmark = pytest.mark.django_db
MARCH = datetime(2025, 3, 4, 9, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture
def march(staff, county_manager, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    county_manager.phone = "13700000001"
    county_manager.save()
    for i in range(9):
        drive(
            CasePlan(
                start=MARCH + timedelta(days=2 * i),
                township=LIUQUAN if i % 3 else HANCHENG,
                stop="closed" if i < 7 else "in_progress",
                lead_department=i % 4 == 0,
                rating=("satisfied", "basically_satisfied", "unsatisfied")[i % 3] if i < 7 else None,
                gaps_hours=[1, 2, 3, 4, 24 * 24 if i == 0 else 24, 2, 2],
            ),
            staff,
        )
    rollups.update()
    return reports.period_for("month", date(2025, 3, 1))


def county_report() -> Report:
    return Report.objects.get(scope__code="410327", kind="month", period_start=date(2025, 3, 1))


def test_monthly_pdf_text_has_the_county_and_the_figures(march):
    reports.generate_due_reports(date(2025, 4, 2), ("month",))
    report = county_report()
    figures = report.figures["current"]
    assert figures["received"] == 9
    assert figures["closed"] == 7
    text = subprocess.run(
        ["pdftotext", "-layout", report.pdf.path, "-"], capture_output=True, check=True, text=True
    ).stdout
    assert "宜阳县" in text
    assert "2025年3月" in text
    assert "登记群众诉求9件" in text.replace(" ", "").replace("\n", "")
    assert metrics.percent(figures["on_time_rate"]) in text
    assert metrics.percent(figures["satisfaction_rate"]) in text
    assert "柳泉镇" in text


def test_narrative_names_change_categories_and_warnings(march):
    reports.generate_due_reports(date(2025, 4, 2), ("month",))
    text = county_report().narrative
    assert text.startswith("2025年3月，宜阳县共登记群众诉求9件，较上期增加9件")
    assert "诉求较多的类别是" in text
    assert "按期办结率较低的单位" in text
    assert "截至报告生成时" in text


def test_xlsx_has_the_same_figures(march):
    reports.generate_due_reports(date(2025, 4, 2), ("month",))
    report = county_report()
    sheet = load_workbook(io.BytesIO(report.xlsx.read())).active
    rows = {row[0]: row[1] for row in sheet.iter_rows(min_row=5, values_only=True)}
    assert rows["登记件数"] == 9
    assert rows["办结件数"] == 7


def test_reports_are_generated_and_pushed_once(march, county_manager):
    call_command("stats_reports", "--date", "2025-04-02", "--kinds", "month")
    call_command("stats_reports", "--date", "2025-04-02", "--kinds", "month")
    call_command("stats_reports", "--date", "2025-04-03", "--kinds", "month")
    assert Report.objects.filter(scope__code="410327", kind="month").count() == 1
    sent = Notification.objects.filter(recipient=county_manager, kind="stats_report")
    assert sorted(sent.values_list("channel", flat=True)) == ["in_app", "sms"]
    assert county_report().recipients == 1
    assert "/stats/reports/410327/month-20250301/" in sent.first().link


def test_report_page_and_files_are_scoped(march, client, county_manager):
    from minqing.accounts.models import Role
    from minqing.testing.personas import make_staff

    reports.generate_due_reports(date(2025, 4, 2), ("month",))
    login(client, county_manager)
    page = client.get("/stats/reports/410327/month-20250301/")
    assert page.status_code == 200
    assert "宜阳县2025年3月月报" in page.content.decode()
    assert client.get("/stats/reports/410327/month-20250301/report.pdf").status_code == 200
    outsider = make_staff("hc_mgr", Role.UNIT_MANAGER, HANCHENG)
    login(client, outsider)
    assert client.get("/stats/reports/410327/month-20250301/").status_code == 404
    assert client.get(f"/stats/reports/{HANCHENG}/month-20250301/").status_code == 200


def test_last_completed_periods():
    assert reports.last_completed("week", date(2025, 4, 2)) == reports.period_for("week", date(2025, 3, 24))
    assert reports.last_completed("month", date(2025, 1, 1)).start == date(2024, 12, 1)
    quarter = reports.last_completed("quarter", date(2025, 4, 2))
    assert (quarter.start, quarter.end) == (date(2025, 1, 1), date(2025, 3, 31))
