"""`minqing calendar status`: which years are entered, from where, and which are provisional."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from minqing.workcalendar.selectors import year_summaries


class Command(BaseCommand):
    help = "列出已录入的日历年度；未完整录入的年度期限为暂定"

    def handle(self, *args, **options):
        rows = year_summaries()
        if not rows:
            self.stdout.write("日历为空：请执行 `minqing calendar seed`")
            return
        for row in rows:
            state = "完整" if row.complete else "暂定"
            self.stdout.write(
                f"{row.year}  {state}  放假{row.holidays:>3}天  调休上班{row.makeup_workdays:>2}天  {row.source}"
            )
