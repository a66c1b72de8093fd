from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "minqing.core"
    label = "core"
    verbose_name = "核心"

    def ready(self) -> None:
        from minqing.core import inserts, lookups

        lookups.register()
        inserts.cache_long_statements()
