from django.apps import AppConfig


class WeChatConfig(AppConfig):
    name = "minqing.intake.wechat"
    label = "wechat"
    verbose_name = "微信公众号"

    def ready(self) -> None:
        from minqing.intake.wechat.senders import register_senders

        register_senders()
