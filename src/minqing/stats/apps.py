from django.apps import AppConfig


class StatsConfig(AppConfig):
    name = "minqing.stats"
    label = "stats"
    verbose_name = "统计汇总"
