"""`minqing demo accounts`: one demo account per role, then a table of them. Safe to run again."""

from __future__ import annotations

import unicodedata

from django.core.management.base import BaseCommand, CommandError

from minqing.demo.accounts import DemoDataMissing, ensure_demo_accounts


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


def format_table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(_width(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(_pad(cell, widths[i]) for i, cell in enumerate(header)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(_pad(cell, widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows]
    return "\n".join(lines)


class Command(BaseCommand):
    help = "Create the demo accounts (one per role) on the Yiyang org tree and print them (-v 0: quietly)."

    def handle(self, *args, **options) -> None:
        try:
            rows = ensure_demo_accounts()
        except DemoDataMissing as error:
            raise CommandError(str(error)) from error
        if options["verbosity"] == 0:
            return
        created = sum(row.created for row in rows)
        self.stdout.write(f"演示账号 / demo accounts ({created} new, {len(rows) - created} already there):")
        self.stdout.write(
            format_table(
                ["用户名 username", "密码 password", "角色 role", "单位 unit", "姓名 name"],
                [[r.username, r.password, r.role, r.unit, r.display_name] for r in rows],
            )
        )
        self.stdout.write("所有姓名均为虚构演示数据。 All names are synthetic demo data.")
