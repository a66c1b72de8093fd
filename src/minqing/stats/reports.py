"""Period reports (周报/月报/季报) for the county and each unit: figures, a narrative in
Chinese, a mobile page, a PDF (reportlab, CID font STSong-Light, a bar chart) and an xlsx.

`generate_due_reports` (command `stats_reports`, daily) makes the reports of every period
that has just ended and pushes each to the scope's managers once: the (scope, kind,
period) row is unique, and the notification key is the report's id.
"""

from __future__ import annotations

import io
from datetime import date, timedelta

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Count
from django.urls import reverse
from django.utils import timezone
from openpyxl import Workbook

from minqing.accounts.models import Membership, Role
from minqing.cases.models import OPEN_STATES, Case
from minqing.notify import actions as notify
from minqing.orgs.models import OrgUnit, UnitKind
from minqing.orgs.selectors import default_county
from minqing.stats import metrics, selectors
from minqing.stats.metrics import Counters
from minqing.stats.models import Report
from minqing.stats.selectors import Period

KIND_LABELS = {"week": "周报", "month": "月报", "quarter": "季报"}
PDF_FONT = "STSong-Light"


# --- Periods -------------------------------------------------------------------------------------


def period_for(kind: str, start: date) -> Period:
    if kind == "week":
        return Period(start, start + timedelta(days=6))
    months = 3 if kind == "quarter" else 1
    month = start.month - 1 + months
    following = date(start.year + month // 12, month % 12 + 1, 1)
    return Period(start, following - timedelta(days=1))


def last_completed(kind: str, today: date) -> Period:
    """The most recent period of `kind` that ended before `today`."""
    if kind == "week":
        this_monday = today - timedelta(days=today.weekday())
        return period_for("week", this_monday - timedelta(days=7))
    if kind == "month":
        first = today.replace(day=1)
        return period_for("month", (first - timedelta(days=1)).replace(day=1))
    quarter_first = date(today.year, (today.month - 1) // 3 * 3 + 1, 1)
    previous_end = quarter_first - timedelta(days=1)
    return period_for("quarter", date(previous_end.year, (previous_end.month - 1) // 3 * 3 + 1, 1))


def period_slug(kind: str, start: date) -> str:
    return f"{kind}-{start:%Y%m%d}"


def parse_period(slug: str) -> tuple[str, date]:
    kind, _, digits = slug.partition("-")
    if kind not in KIND_LABELS or len(digits) != 8 or not digits.isdigit():
        raise ValueError("报告期格式应为 month-20250301 这样的形式")
    return kind, date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))


def period_label(kind: str, period: Period) -> str:
    if kind == "month":
        return f"{period.start.year}年{period.start.month}月"
    if kind == "quarter":
        return f"{period.start.year}年第{(period.start.month - 1) // 3 + 1}季度"
    return f"{period.start:%Y年%m月%d日}至{period.end:%m月%d日}"


# --- Figures ---------------------------------------------------------------------------------------


def _rows(scope: OrgUnit) -> selectors.Rollups:
    """Rollup rows of a scope, for the system job (reports are read through visible_unit)."""
    return selectors.scope_rollups(scope)


def live_counts_in(scope: OrgUnit) -> dict[str, int]:
    cases = Case.objects.filter(selectors.attributed_to(scope), state__in=OPEN_STATES).order_by()
    queries = selectors.live_queries()
    return cases.aggregate(**{name: Count("pk", filter=q) for name, q in queries.items()})


def _unit_rows(scope: OrgUnit, period: Period) -> list[dict]:
    children = selectors.child_units(scope)
    units = children["townships"] + children["departments"]
    per_unit = selectors.counters_by_handling_unit(_rows(scope), period, units)
    rows = []
    for unit, c in per_unit.items():
        rows.append(
            {
                "code": unit.code,
                "name": unit.name,
                "received": c.received,
                "closed": c.closed,
                "on_time_rate": metrics.on_time_rate(c),
                "satisfaction_rate": metrics.satisfaction_rate(c),
            }
        )
    return rows


def build_figures(scope: OrgUnit, kind: str, period: Period) -> dict:
    rows = _rows(scope)
    current = selectors.counters(rows, period)
    previous = selectors.counters(rows, period.previous())
    categories = sorted(selectors.counters_by_level1(rows, period).items(), key=lambda item: -item[1].received)
    return {
        "scope": scope.name,
        "scope_code": scope.code,
        "kind": kind,
        "label": period_label(kind, period),
        "start": period.start.isoformat(),
        "end": period.end.isoformat(),
        "current": metrics.all_figures(current),
        "previous": metrics.all_figures(previous),
        "categories": [[name, c.received] for name, c in categories if c.received][:8],
        "units": _unit_rows(scope, period),
        "warnings": live_counts_in(scope),
    }


# --- Narrative ---------------------------------------------------------------------------------------


def _change(now: int, before: int) -> str:
    if now == before:
        return "与上期持平"
    word = "增加" if now > before else "减少"
    share = f"（{abs(now - before) / before * 100:.1f}%）" if before else ""
    return f"较上期{word}{abs(now - before)}件{share}"


def narrative(figures: dict) -> str:
    cur, prev = figures["current"], figures["previous"]
    pct = metrics.percent
    parts = [
        f"{figures['label']}，{figures['scope']}共登记群众诉求{cur['received']}件，"
        f"{_change(cur['received'], prev['received'])}；"
        f"受理{cur['accepted']}件，办结{cur['closed']}件，办结率{pct(cur['closure_rate'])}，"
        f"按期办结率{pct(cur['on_time_rate'])}，平均办理{metrics.days(cur['average_handling_days'])}天；"
        f"参评{cur['rated']}件，满意率{pct(cur['satisfaction_rate'])}。"
    ]
    if figures["categories"]:
        top = "、".join(f"{name}（{count}件）" for name, count in figures["categories"][:3])
        parts.append(f"诉求较多的类别是{top}。")
    rated_units = [u for u in figures["units"] if u["on_time_rate"] is not None]
    if rated_units:
        worst = sorted(rated_units, key=lambda u: (u["on_time_rate"], -u["closed"]))[:3]
        parts.append(
            "按期办结率较低的单位：" + "、".join(f"{u['name']}（{pct(u['on_time_rate'])}）" for u in worst) + "。"
        )
    warnings = figures["warnings"]
    if warnings.get("overdue") or warnings.get("nearly_due"):
        parts.append(
            f"截至报告生成时，超期未办结{warnings.get('overdue', 0)}件，即将到期{warnings.get('nearly_due', 0)}件，"
            f"被退回{warnings.get('returned', 0)}件，重新办理{warnings.get('reopened', 0)}件，请相关单位抓紧办理。"
        )
    else:
        parts.append("截至报告生成时，无超期未办结案件。")
    return "".join(parts)


# --- Files ---------------------------------------------------------------------------------------------

KPI_ROWS = (
    ("received", "登记件数"),
    ("accepted", "受理件数"),
    ("closed", "办结件数"),
    ("closure_rate", "办结率"),
    ("on_time_rate", "按期办结率"),
    ("average_handling_days", "平均办理天数"),
    ("rated", "参评件数"),
    ("satisfaction_rate", "满意率"),
    ("response_rate", "响应率"),
    ("resolution_rate", "解决率"),
    ("repeat_rate", "重复信访率"),
    ("reopen_rate", "重办率"),
)


def format_figure(name: str, value) -> str:
    if name == "average_handling_days":
        return metrics.days(value)
    if name.endswith("_rate"):
        return metrics.percent(value)
    return str(value)


def render_pdf(figures: dict, text: str) -> bytes:
    from reportlab.graphics.charts.barcharts import VerticalBarChart
    from reportlab.graphics.shapes import Drawing, String
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    if PDF_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(PDF_FONT))
    title = ParagraphStyle("title", fontName=PDF_FONT, fontSize=16, leading=22, spaceAfter=6)
    body = ParagraphStyle("body", fontName=PDF_FONT, fontSize=10.5, leading=17, wordWrap="CJK")
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=A4, leftMargin=18 * mm, rightMargin=18 * mm, topMargin=16 * mm)
    heading = f"{figures['scope']}{figures['label']}信访矛盾化解{KIND_LABELS[figures['kind']]}"
    story = [Paragraph(heading, title), Paragraph(text, body), Spacer(1, 6 * mm)]
    table_rows = [["指标", "本期", "上期"]] + [
        [label, format_figure(name, figures["current"][name]), format_figure(name, figures["previous"][name])]
        for name, label in KPI_ROWS
    ]
    story.append(_table(Table, TableStyle, colors, table_rows, [60 * mm, 40 * mm, 40 * mm]))
    categories = figures["categories"][:8]
    if categories:
        drawing = Drawing(170 * mm, 70 * mm)
        chart = VerticalBarChart()
        chart.x, chart.y, chart.width, chart.height = 12 * mm, 14 * mm, 150 * mm, 46 * mm
        chart.data = [[count for _, count in categories]]
        chart.categoryAxis.categoryNames = [name[:6] for name, _ in categories]
        chart.categoryAxis.labels.fontName = PDF_FONT
        chart.categoryAxis.labels.fontSize = 7
        chart.valueAxis.valueMin = 0
        chart.bars[0].fillColor = colors.HexColor("#2f6fb0")
        drawing.add(chart)
        drawing.add(String(12 * mm, 64 * mm, "诉求类别分布（登记件数）", fontName=PDF_FONT, fontSize=9))
        story += [Spacer(1, 5 * mm), drawing]
    if figures["units"]:
        unit_rows = [["单位", "登记", "办结", "按期办结率", "满意率"]] + [
            [
                u["name"],
                str(u["received"]),
                str(u["closed"]),
                metrics.percent(u["on_time_rate"]),
                metrics.percent(u["satisfaction_rate"]),
            ]
            for u in figures["units"]
        ]
        story += [
            Spacer(1, 5 * mm),
            _table(Table, TableStyle, colors, unit_rows, [55 * mm, 22 * mm, 22 * mm, 30 * mm, 30 * mm]),
        ]
    doc.build(story)
    return buffer.getvalue()


def _table(table_class, style_class, colors, rows: list[list[str]], widths: list[float]):
    table = table_class(rows, colWidths=widths, repeatRows=1)
    table.setStyle(
        style_class(
            [
                ("FONTNAME", (0, 0), (-1, -1), PDF_FONT),
                ("FONTSIZE", (0, 0), (-1, -1), 9),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef6")),
                ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#9aa8b8")),
                ("ALIGN", (1, 1), (-1, -1), "RIGHT"),
            ]
        )
    )
    return table


def render_xlsx(figures: dict, text: str) -> bytes:
    workbook = Workbook()
    summary = workbook.active
    summary.title = "概况"
    summary.append([f"{figures['scope']}{figures['label']}{KIND_LABELS[figures['kind']]}"])
    summary.append([text])
    summary.append([])
    summary.append(["指标", "本期", "上期"])
    for name, label in KPI_ROWS:
        summary.append([label, figures["current"][name], figures["previous"][name]])
    units = workbook.create_sheet("单位")
    units.append(["单位代码", "单位", "登记", "办结", "按期办结率", "满意率"])
    for u in figures["units"]:
        units.append([u["code"], u["name"], u["received"], u["closed"], u["on_time_rate"], u["satisfaction_rate"]])
    categories = workbook.create_sheet("分类")
    categories.append(["类别", "登记"])
    for name, count in figures["categories"]:
        categories.append([name, count])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# --- Generate and push --------------------------------------------------------------------------------


def report_url(report: Report) -> str:
    path = reverse("stats:report", args=[report.scope.code, period_slug(report.kind, report.period_start)])
    return getattr(settings, "MINQING_PUBLIC_URL", "").rstrip("/") + path


def recipients(scope: OrgUnit) -> list:
    role = Role.COUNTY_MANAGER if scope.kind == UnitKind.COUNTY else Role.UNIT_MANAGER
    memberships = Membership.objects.filter(unit=scope, role=role, user__is_active=True).select_related("user")
    return [m.user for m in memberships]


def generate(scope: OrgUnit, kind: str, period: Period) -> Report | None:
    """Make and push one report; None when it already exists (nothing is sent twice)."""
    if Report.objects.filter(scope=scope, kind=kind, period_start=period.start).exists():
        return None
    figures = build_figures(scope, kind, period)
    text = narrative(figures)
    slug = period_slug(kind, period.start)
    try:
        with transaction.atomic():
            report = Report.objects.create(
                scope=scope,
                kind=kind,
                period_start=period.start,
                period_end=period.end,
                figures=figures,
                narrative=text,
            )
            report.pdf.save(f"{scope.code}-{slug}.pdf", ContentFile(render_pdf(figures, text)), save=False)
            report.xlsx.save(f"{scope.code}-{slug}.xlsx", ContentFile(render_xlsx(figures, text)), save=False)
            _push(report)
            report.save()
    except IntegrityError:  # another run made it first
        return None
    return report


def _push(report: Report) -> None:
    users = recipients(report.scope)
    figures = report.figures["current"]
    title = f"{report.scope.name}{report.figures['label']}{KIND_LABELS[report.kind]}已生成"
    body = (
        f"登记{figures['received']}件，办结{figures['closed']}件，按期办结率{metrics.percent(figures['on_time_rate'])}，"
        f"满意率{metrics.percent(figures['satisfaction_rate'])}。详见 {report_url(report)}"
    )
    message = notify.Message(kind="stats_report", title=title, body=body, link=report_url(report))
    notify.queue(message, users, key=f"stats_report:{report.pk}", sms=True)
    report.pushed_at = timezone.now()
    report.recipients = len(users)


def report_scopes(county: OrgUnit) -> list[OrgUnit]:
    children = selectors.child_units(county)
    return [county, *children["townships"], *children["departments"]]


def generate_due_reports(
    today: date | None = None, kinds: tuple[str, ...] = ("week", "month", "quarter")
) -> list[Report]:
    county = default_county()
    if county is None:
        return []
    today = today or selectors.today()
    made = []
    for kind in kinds:
        period = last_completed(kind, today)
        for scope in report_scopes(county):
            report = generate(scope, kind, period)
            if report is not None:
                made.append(report)
    return made


def page_context(report: Report) -> dict:
    figures = report.figures
    return {
        "report": report,
        "figures": figures,
        "kind_label": KIND_LABELS[report.kind],
        "kpis": [
            (label, format_figure(n, figures["current"][n]), format_figure(n, figures["previous"][n]))
            for n, label in KPI_ROWS
        ],
        "units": [
            {
                **u,
                "on_time_text": metrics.percent(u["on_time_rate"]),
                "satisfaction_text": metrics.percent(u["satisfaction_rate"]),
            }
            for u in figures["units"]
        ],
        "slug": period_slug(report.kind, report.period_start),
        "chart": {"categories": [{"name": n, "value": v} for n, v in figures["categories"]]},
    }


def counters_of(figures: dict) -> Counters:
    return Counters.from_mapping(figures["current"])
