"""`minqing orgs load yiyang`: import a dataset shipped with Minqing."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from minqing.orgs.loaders import DATASETS, UnitImportError, load_dataset


class Command(BaseCommand):
    help = "导入随软件提供的组织机构数据（目前只有 yiyang：宜阳县）。重复运行不会产生变化。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("dataset", choices=sorted(DATASETS), help="数据集名称")

    def handle(self, *args, dataset: str, **options) -> None:
        try:
            result = load_dataset(dataset)
        except UnitImportError as exc:
            raise CommandError("\n".join(exc.messages)) from exc
        self.stdout.write(result.summary(DATASETS[dataset][1]))
