"""`minqing calendar import FILE`: enter a year's State Council holiday schedule (see docs/calendar.md)."""

from __future__ import annotations

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from minqing.workcalendar.actions import import_schedule
from minqing.workcalendar.schedule_file import ScheduleFileError


class Command(BaseCommand):
    help = "导入年度节假日安排文件（CSV：date,kind,name）；整份文件校验，有误则不导入"

    def add_arguments(self, parser):
        parser.add_argument("file", help="UTF-8 CSV 文件路径，- 表示标准输入")

    def handle(self, *args, file: str, **options):
        try:
            text = sys.stdin.read() if file == "-" else Path(file).read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"无法读取 {file}：{exc}") from exc
        try:
            years = import_schedule(text)
        except ScheduleFileError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(f"已导入并标记为完整：{', '.join(map(str, years))} 年")
