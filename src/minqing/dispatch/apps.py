from django.apps import AppConfig


class DispatchConfig(AppConfig):
    name = "minqing.dispatch"
    label = "dispatch"
    verbose_name = "指挥调度"

    def ready(self) -> None:
        from minqing.cases.selectors import CASE_PANELS
        from minqing.dispatch.panels import case_panel, related_panel

        CASE_PANELS.append(case_panel)
        CASE_PANELS.append(related_panel)
