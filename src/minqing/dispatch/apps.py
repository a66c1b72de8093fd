from django.apps import AppConfig


def _supervision_panel(user, case, kinds) -> str:
    # The panels module pulls in scikit-learn (suggestions); importing it on first use keeps
    # every `minqing` command from loading it at start-up.
    from minqing.dispatch.panels import case_panel

    return case_panel(user, case, kinds)


def _related_panel(user, case, kinds) -> str:
    from minqing.dispatch.panels import related_panel

    return related_panel(user, case, kinds)


class DispatchConfig(AppConfig):
    name = "minqing.dispatch"
    label = "dispatch"
    verbose_name = "指挥调度"

    def ready(self) -> None:
        from minqing.cases.selectors import CASE_PANELS

        CASE_PANELS.append(_supervision_panel)
        CASE_PANELS.append(_related_panel)
