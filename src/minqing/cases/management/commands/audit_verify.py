from django.core.management.base import BaseCommand, CommandError

from minqing.accounts.audit import verify_chain
from minqing.cases.audit import verify_case_chains


class Command(BaseCommand):
    help = "校验案件事件链与安全审计日志的哈希链，报告被篡改的记录。"

    def handle(self, *args, **options):
        broken = verify_case_chains()
        for item in broken:
            where = f"第 {item.seq} 个事件" if item.seq else ""
            self.stderr.write(f"案件 {item.reference}（id {item.case_id}）{where}：{item.problem}")
        audit_break = verify_chain()
        if audit_break is not None:
            self.stderr.write(f"安全审计日志自第 {audit_break} 条起哈希链断裂")
        if broken or audit_break is not None:
            raise CommandError(
                f"校验未通过：{len(broken)} 个案件的事件链异常" + ("，审计日志异常" if audit_break is not None else "")
            )
        self.stdout.write("校验通过：所有案件事件链与审计日志完整")
