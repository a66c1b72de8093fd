from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "minqing.cases"
    label = "cases"
    verbose_name = "案件办理"

    def ready(self) -> None:
        from minqing.cases import tasks
        from minqing.workcalendar.signals import calendar_changed

        calendar_changed.connect(tasks.on_calendar_changed, dispatch_uid="cases.recompute_deadlines")
