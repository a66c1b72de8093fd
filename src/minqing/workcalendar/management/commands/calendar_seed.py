"""`minqing calendar seed [--years 2004-2026]`: store the chinese-calendar package's holidays."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from minqing.core.errors import DomainError
from minqing.workcalendar.actions import package_years, seed_from_chinese_calendar


def _years(spec: str) -> list[int]:
    years: set[int] = set()
    try:
        for part in spec.split(","):
            first, _, last = part.strip().partition("-")
            years.update(range(int(first), int(last or first) + 1))
    except ValueError as exc:
        raise CommandError(f"年份格式应为 2024 或 2020-2026 或 2024,2025：{spec}") from exc
    return sorted(years)


class Command(BaseCommand):
    help = "从 chinese-calendar 软件包导入法定节假日与调休（可重复执行）"

    def add_arguments(self, parser):
        available = package_years()
        parser.add_argument(
            "--years", help=f"年份，如 2024 或 2020-2026（默认 {available.start}-{available.stop - 1}）"
        )

    def handle(self, *args, years=None, **options):
        try:
            result = seed_from_chinese_calendar(_years(years) if years else None)
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        if result.seeded:
            span = f"{result.seeded[0]}-{result.seeded[-1]}" if len(result.seeded) > 1 else str(result.seeded[0])
            self.stdout.write(
                f"chinese-calendar: {span} 年；新增 {result.created}，修改 {result.updated}，删除 {result.deleted} 天"
            )
        if result.skipped:
            self.stdout.write(f"已由导入或管理员录入，未覆盖：{', '.join(map(str, result.skipped))}")
