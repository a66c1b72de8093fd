from django.apps import AppConfig


def _forget_recipients(**kwargs) -> None:
    from minqing.cases.notifications import forget_recipients

    forget_recipients()


class CasesConfig(AppConfig):
    name = "minqing.cases"
    label = "cases"
    verbose_name = "案件办理"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from minqing.accounts.models import Membership, User
        from minqing.cases import tasks
        from minqing.workcalendar.signals import calendar_changed

        calendar_changed.connect(tasks.on_calendar_changed, dispatch_uid="cases.recompute_deadlines")
        # Cache invalidation only (no business logic): memberships and users decide who is notified.
        for sender in (Membership, User):
            for signal in (post_save, post_delete):
                signal.connect(_forget_recipients, sender=sender, dispatch_uid=f"cases.recipients.{sender.__name__}")
