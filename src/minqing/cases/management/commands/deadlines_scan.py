import time

from django.core.management.base import BaseCommand

from minqing.cases.scans import scan_deadlines


class Command(BaseCommand):
    help = "扫描办理期限：标记临期、超期案件并通知承办单位和管理岗。可重复运行，不会重复通知。"

    def add_arguments(self, parser):
        parser.add_argument("--loop", action="store_true", help="持续运行")
        parser.add_argument("--interval", type=int, default=600, help="循环间隔秒数（默认600）")

    def handle(self, *args, loop=False, interval=600, **options):
        while True:
            result = scan_deadlines()
            self.stdout.write(f"临期 {result.nearly_due} 件，超期 {result.overdue} 件")
            if not loop:
                return
            time.sleep(interval)
