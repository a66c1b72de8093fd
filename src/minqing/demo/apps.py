from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "minqing.demo"
    label = "demo"
    verbose_name = "演示数据"
