"""`minqing orgs load yiyang`: import a dataset shipped with Minqing (`henan`: a province, for benchmarks)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from minqing.orgs.loaders import DATASETS, UnitImportError, load_dataset
from minqing.orgs.province import DEFAULT_VILLAGES, load_province


class Command(BaseCommand):
    help = (
        "导入随软件提供的组织机构数据（yiyang：宜阳县；henan：河南省全部乡镇和虚构村，用于性能测试）。"
        "重复运行不会产生变化。"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("dataset", choices=sorted([*DATASETS, "henan"]), help="数据集名称")
        parser.add_argument("--counties", default="", help="henan：只导入这些县级代码（逗号分隔）")
        parser.add_argument("--villages", type=int, default=DEFAULT_VILLAGES, help="henan：每个乡镇的虚构村数")

    def handle(self, *args, dataset: str, **options) -> None:
        try:
            if dataset == "henan":
                counties = [c.strip() for c in options["counties"].split(",") if c.strip()] or None
                result = load_province(counties, options["villages"])
                label = "河南省"
            else:
                result = load_dataset(dataset)
                label = DATASETS[dataset][1]
        except UnitImportError as exc:
            raise CommandError("\n".join(exc.messages)) from exc
        except (ValueError, OSError) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(result.summary(label))
