"""xlsx export of a query, streamed: rows are read in chunks, written by openpyxl's
write-only workbook to a temporary file, and the file is streamed back and deleted.

Personal data is masked unless the caller asked for it unmasked and may have it
(`selectors.can_unmask`); every unmasked export is written to the audit log.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator

from django.db.models import Prefetch, QuerySet
from django.utils import timezone
from openpyxl import Workbook

from minqing.cases.models import Case, Party

CHUNK = 2000
HEADERS = (
    "案件编号",
    "登记时间",
    "渠道",
    "分类",
    "标题",
    "事发地",
    "主办单位",
    "状态",
    "办理期限",
    "办结时间",
    "办理结果",
    "信访人",
    "手机号",
    "身份证号",
)


def _local(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment else ""


def _row(case: Case, unmasked: bool) -> list[str]:
    party = case.primary_parties[0] if case.primary_parties else None
    phone = (party.phone if unmasked else party.masked_phone) if party else ""
    id_number = (party.id_number if unmasked else party.masked_id_number) if party else ""
    return [
        case.reference,
        _local(case.submitted_at),
        case.get_channel_display(),
        str(case.category) if case.category_id else "",
        case.title,
        case.location_unit.name,
        case.lead_unit.name if case.lead_unit_id else "",
        case.get_state_display(),
        _local(case.handle_due),
        _local(case.closed_at),
        case.get_outcome_display() if case.outcome else "",
        (party.name if party else "") or ("匿名" if case.is_anonymous else ""),
        phone,
        id_number,
    ]


def rows(queryset: QuerySet[Case], unmasked: bool) -> Iterator[list[str]]:
    """Rows in chunks by primary key, so memory stays flat at any size."""
    base = queryset.select_related("category__parent", "location_unit", "lead_unit").prefetch_related(
        Prefetch("parties", queryset=Party.objects.filter(is_primary=True), to_attr="primary_parties")
    )
    ids = list(queryset.values_list("pk", flat=True))
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        by_id = {case.pk: case for case in base.order_by().filter(pk__in=chunk)}
        for pk in chunk:
            yield _row(by_id[pk], unmasked)


def write_xlsx(queryset: QuerySet[Case], unmasked: bool) -> tuple[str, int]:
    """Write the export to a temporary file; returns (path, number of rows). The caller deletes it."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("案件")
    sheet.append(list(HEADERS))
    count = 0
    for row in rows(queryset, unmasked):
        sheet.append(row)
        count += 1
    handle, path = tempfile.mkstemp(prefix="minqing-export-", suffix=".xlsx")
    os.close(handle)
    workbook.save(path)
    return path, count


class DeletingFile:
    """A file object that removes its file when closed (FileResponse closes it at the end)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.handle = open(path, "rb")  # noqa: SIM115 — closed by close()

    def read(self, size: int = -1) -> bytes:
        return self.handle.read(size)

    def close(self) -> None:
        self.handle.close()
        if os.path.exists(self.path):
            os.remove(self.path)
