from django.apps import AppConfig


class ApprovalsConfig(AppConfig):
    name = "minqing.approvals"
    label = "approvals"
    verbose_name = "申请审批"

    def ready(self) -> None:
        from minqing.approvals.panels import case_panel
        from minqing.approvals.selectors import inbox_queue
        from minqing.cases.selectors import CASE_PANELS, EXTRA_INBOX_QUEUES

        EXTRA_INBOX_QUEUES.append(inbox_queue)
        CASE_PANELS.append(case_panel)
