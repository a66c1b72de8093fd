from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "minqing.alerts"
    label = "alerts"
    verbose_name = "事前预警"
