from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "minqing.cases"
    label = "cases"
    verbose_name = "案件办理"
