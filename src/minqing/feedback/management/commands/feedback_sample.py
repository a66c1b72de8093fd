import time
from datetime import timedelta

from django.core.management.base import BaseCommand

from minqing.feedback.actions import SAMPLING_LOOKBACK, sample_follow_ups
from minqing.feedback.models import SampleReason


class Command(BaseCommand):
    help = "按回访抽样规则为近期办结或评价的案件生成回访任务。可重复运行：每件每轮只生成一次。"

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=SAMPLING_LOOKBACK.days, help="回看天数（默认7）")
        parser.add_argument("--loop", action="store_true", help="持续运行")
        parser.add_argument("--interval", type=int, default=3600, help="循环间隔秒数（默认3600）")

    def handle(self, *args, days=7, loop=False, interval=3600, **options):
        while True:
            result = sample_follow_ups(lookback=timedelta(days=days))
            if result.skipped_reason:
                self.stdout.write(f"未抽样：{result.skipped_reason}")
            else:
                parts = [f"{SampleReason(k).label} {n} 件" for k, n in sorted(result.queued.items())]
                self.stdout.write(f"新增回访任务 {result.total} 件" + (f"（{'，'.join(parts)}）" if parts else ""))
            if not loop:
                return
            time.sleep(interval)
