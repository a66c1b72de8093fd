from django.core.management.base import BaseCommand

from minqing.notify.actions import deliver_due


class Command(BaseCommand):
    help = "发送待发送的通知（短信等），失败的按退避策略重试。可重复运行。"

    def handle(self, *args, **options):
        total = 0
        while sent := deliver_due():
            total += sent
        self.stdout.write(f"已发送 {total} 条通知")
