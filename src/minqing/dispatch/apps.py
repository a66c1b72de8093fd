from django.apps import AppConfig


class DispatchConfig(AppConfig):
    name = "minqing.dispatch"
    label = "dispatch"
    verbose_name = "指挥调度"
