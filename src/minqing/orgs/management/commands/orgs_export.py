"""`minqing orgs export --format csv [--root CODE]`: write the tree to stdout."""

from __future__ import annotations

import os
import sys

from django.core.management.base import BaseCommand, CommandError, CommandParser

from minqing.orgs.loaders import export_units_csv
from minqing.orgs.models import OrgUnit


class Command(BaseCommand):
    help = "按树的顺序导出组织单位（code,name,kind,parent_code）到标准输出。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--format", choices=["csv"], default="csv", help="输出格式（目前只有 csv）")
        parser.add_argument("--root", metavar="CODE", help="只导出此单位及其下级")
        parser.add_argument("--full", action="store_true", help="同时导出电话、坐标等全部列（可再导入）")

    def handle(self, *args, root: str | None, full: bool, **options) -> None:
        root_unit = None
        if root:
            root_unit = OrgUnit.objects.filter(code=root).first()
            if root_unit is None:
                raise CommandError(f"单位代码 {root} 不存在")
        try:
            export_units_csv(self.stdout, root_unit, full=full)
        except BrokenPipeError:
            # `minqing orgs export | head`: the reader went away, which is not an error.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
