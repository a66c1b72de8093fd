from django.apps import AppConfig


class NotifyConfig(AppConfig):
    name = "minqing.notify"
    label = "notify"
    verbose_name = "通知"
