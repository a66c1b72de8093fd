from django.apps import AppConfig


class ApprovalsConfig(AppConfig):
    name = "minqing.approvals"
    label = "approvals"
    verbose_name = "申请审批"
