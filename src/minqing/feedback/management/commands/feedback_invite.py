import time

from django.core.management.base import BaseCommand

from minqing.feedback.actions import invite_ratings


class Command(BaseCommand):
    help = "向没有群众账号的信访人发送评价短信（带签名链接）。可重复运行：每件每轮只发一次。"

    def add_arguments(self, parser):
        parser.add_argument("--loop", action="store_true", help="持续运行")
        parser.add_argument("--interval", type=int, default=600, help="循环间隔秒数（默认600）")

    def handle(self, *args, loop=False, interval=600, **options):
        while True:
            self.stdout.write(f"已排队评价短信 {invite_ratings()} 条")
            if not loop:
                return
            time.sleep(interval)
