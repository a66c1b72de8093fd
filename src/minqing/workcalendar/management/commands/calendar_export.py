"""`minqing calendar export 2026 [2027 ...]`: print stored years in the import file format."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from minqing.workcalendar.selectors import export_schedule


class Command(BaseCommand):
    help = "按导入文件格式输出指定年度的节假日安排"

    def add_arguments(self, parser):
        parser.add_argument("years", nargs="+", type=int)

    def handle(self, *args, years: list[int], **options):
        self.stdout.write(export_schedule(years), ending="")
