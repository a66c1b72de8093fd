"""`minqing orgs import FILE.csv`: import units from a CSV file, all rows or none."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from minqing.orgs.loaders import UnitImportError, import_units, parse_units_csv, read_csv_bytes


class Command(BaseCommand):
    help = (
        "从 CSV 导入组织单位（UTF-8，可带 BOM）。列：code,name,kind,parent_code，"
        "可选 official_code,synthetic,latitude,longitude,contact_phone,active,sort_order。"
        "任何一行有错则全部不导入。"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="CSV 文件路径")

    def handle(self, *args, file: Path, **options) -> None:
        try:
            data = file.read_bytes()
        except OSError as exc:
            raise CommandError(f"无法读取文件 {file}：{exc.strerror}") from exc
        try:
            result = import_units(parse_units_csv(read_csv_bytes(data)))
        except UnitImportError as exc:
            for message in exc.messages:
                self.stderr.write(message)
            raise CommandError(f"{file}：发现 {len(exc.errors)} 处错误，未导入任何单位") from exc
        self.stdout.write(result.summary(file.name))
