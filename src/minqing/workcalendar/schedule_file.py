"""The yearly holiday schedule file: parse and validate, without touching the database.

Format (UTF-8, a byte-order mark is ignored), one special day per line, CSV::

    # 国务院办公厅关于2027年部分节假日安排的通知
    date,kind,name
    2027-01-01,holiday,元旦
    2027-02-06,holiday,春节
    2027-02-14,workday,春节调休

* `date`: YYYY-MM-DD (2027/2/6 is accepted too).
* `kind`: `holiday` (放假, also `休`) or `workday` (调休上班, also `makeup_workday`, `班`).
* `name`: optional, e.g. 春节 / 春节调休. Quote it if it contains a comma.
* Blank lines and lines starting with `#` are ignored; the header line is optional.

List every rest day of each holiday block (weekend days included) and every make-up working
day. Ordinary weekends and weekdays are not listed.

A year is *covered* by the file when the file lists its 1 January as a holiday; the file must
then hold that year's whole schedule, and importing it replaces everything stored for that
year and marks the year complete. Days in the December before or the January after a covered
year (a 元旦 block that starts on 30 December, say) are accepted and stored without making
their own year complete.

The file is checked as a whole and every problem is reported with its line number: a bad
date, an unknown kind, the same date listed twice with different kinds, a make-up working
day on a Monday–Friday, a fixed-date statutory holiday (元旦, 劳动节, 国庆节) missing or listed
as a working day, a day of a year the file does not cover.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from minqing.core.deadlines import fixed_date_holidays
from minqing.core.errors import DomainError

HOLIDAY = "holiday"
MAKEUP_WORKDAY = "makeup_workday"
KIND_ALIASES = {
    "holiday": HOLIDAY,
    "休": HOLIDAY,
    "放假": HOLIDAY,
    "workday": MAKEUP_WORKDAY,
    "makeup_workday": MAKEUP_WORKDAY,
    "班": MAKEUP_WORKDAY,
    "上班": MAKEUP_WORKDAY,
}
KIND_LABELS = {HOLIDAY: "放假", MAKEUP_WORKDAY: "调休上班"}
FILE_KIND = {HOLIDAY: "holiday", MAKEUP_WORKDAY: "workday"}
HEADER_FIRST_FIELDS = {"date", "日期"}
MIN_YEAR, MAX_YEAR = 1999, 2200
MAX_NAME_LENGTH = 60
WEEKDAYS = "一二三四五六日"
_DATE = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})$")


@dataclass(frozen=True)
class ScheduleEntry:
    line: int
    day: date
    kind: str  # HOLIDAY or MAKEUP_WORKDAY
    name: str


@dataclass(frozen=True)
class Schedule:
    """A validated file: its days (one entry per date) and the years it covers completely."""

    entries: tuple[ScheduleEntry, ...]
    years: frozenset[int]


class ScheduleFileError(DomainError):
    """The file was refused; `errors` lists every problem, each naming its line."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = errors
        super().__init__("日历文件有误，未导入任何日期：\n" + "\n".join(errors), code="invalid_calendar_file")


def _parse_date(text: str) -> date | None:
    match = _DATE.match(text)
    if not match:
        return None
    try:
        return date(*(int(part) for part in match.groups()))
    except ValueError:
        return None


def parse_schedule(text: str) -> Schedule:
    """Validate the whole file; raise ScheduleFileError listing every bad line."""
    text = text.removeprefix("\ufeff")
    errors: list[tuple[int, str]] = []
    by_date: dict[date, ScheduleEntry] = {}
    header_allowed = True
    for line_no, row in enumerate(csv.reader(text.splitlines()), start=1):
        fields = [f.strip() for f in row]
        while fields and not fields[-1]:
            fields.pop()  # spreadsheets append empty columns
        if not fields or fields[0].startswith("#"):
            continue
        if header_allowed and fields[0].lower() in HEADER_FIRST_FIELDS:
            header_allowed = False
            continue
        header_allowed = False

        def bad(message: str, line_no: int = line_no) -> None:
            errors.append((line_no, f"第{line_no}行：{message}"))

        if len(fields) < 2 or len(fields) > 3:
            bad(f"应为“日期,类型,名称”三列（名称可省略），实际为 {','.join(fields)}")
            continue
        raw_date, raw_kind = fields[0], fields[1]
        name = fields[2] if len(fields) == 3 else ""
        day = _parse_date(raw_date)
        kind = KIND_ALIASES.get(raw_kind.lower())
        if day is None:
            bad(f"日期“{raw_date}”无效，应为 YYYY-MM-DD")
        elif not MIN_YEAR <= day.year <= MAX_YEAR:
            bad(f"日期“{raw_date}”的年份超出 {MIN_YEAR}–{MAX_YEAR}")
            day = None
        if kind is None:
            bad(f"类型“{raw_kind}”无法识别，应为 holiday（放假）或 workday（调休上班）")
        if len(name) > MAX_NAME_LENGTH:
            bad(f"名称超过{MAX_NAME_LENGTH}个字")
        if day is None or kind is None:
            continue
        if kind == MAKEUP_WORKDAY and day.weekday() < 5:
            bad(f"{day} 是星期{WEEKDAYS[day.weekday()]}，调休上班日只能是周六或周日")
            continue
        earlier = by_date.get(day)
        if earlier is not None:
            if earlier.kind != kind:
                bad(f"{day} 已在第{earlier.line}行列为{KIND_LABELS[earlier.kind]}，不能又列为{KIND_LABELS[kind]}")
            continue  # the same day twice with the same kind is harmless
        by_date[day] = ScheduleEntry(line=line_no, day=day, kind=kind, name=name)

    years = frozenset(
        day.year for day, entry in by_date.items() if (day.month, day.day) == (1, 1) and entry.kind == HOLIDAY
    )
    for day, entry in by_date.items():
        if day.year in years:
            continue
        if (day.month == 12 and day.year + 1 in years) or (day.month == 1 and day.year - 1 in years):
            continue  # spill-over of an adjacent year's holiday block
        errors.append(
            (
                entry.line,
                f"第{entry.line}行：文件没有把 {day.year}-01-01（元旦）列为放假，"
                f"{day.year} 年不是完整的年度安排；请列出该年全部放假和调休日期",
            )
        )
    for year in sorted(years):
        for day, holiday_name in sorted(fixed_date_holidays(year).items()):
            entry = by_date.get(day)
            if entry is None:
                errors.append((0, f"{year} 年缺少法定节假日 {day}（{holiday_name}），请列为 holiday"))
            elif entry.kind != HOLIDAY:
                errors.append((entry.line, f"第{entry.line}行：{day} 是法定节假日（{holiday_name}），不能列为调休上班"))
    if not by_date and not errors:
        errors.append((0, "文件中没有任何日期"))
    if errors:
        errors.sort(key=lambda item: item[0])
        raise ScheduleFileError([message for _, message in errors])
    entries = tuple(sorted(by_date.values(), key=lambda e: e.day))
    return Schedule(entries=entries, years=years)


def format_schedule(rows: Iterable[tuple[date, str, str]], *, title: str = "") -> str:
    """The file text for `(date, kind, name)` rows, kind being HOLIDAY or MAKEUP_WORKDAY."""
    out = io.StringIO()
    if title:
        out.write(f"# {title}\n")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["date", "kind", "name"])
    for day, kind, name in sorted(rows):
        writer.writerow([day.isoformat(), FILE_KIND[kind], name])
    return out.getvalue()
