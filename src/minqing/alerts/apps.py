from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "minqing.alerts"
    label = "alerts"
    verbose_name = "事前预警"

    def ready(self) -> None:
        from minqing.alerts.selectors import alert_tile
        from minqing.cases.selectors import EXTRA_INBOX_QUEUES

        if alert_tile not in EXTRA_INBOX_QUEUES:
            EXTRA_INBOX_QUEUES.append(alert_tile)
