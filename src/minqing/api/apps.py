from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


class ApiConfig(AppConfig):
    name = "minqing.api"
    label = "api"
    verbose_name = "接口"

    def ready(self) -> None:
        from django.contrib.auth import get_user_model

        from minqing.api.models import ApiToken
        from minqing.cases.models import Category
        from minqing.orgs.models import OrgUnit

        # The per-process caches of tokens and reference data forget what this process changes.
        for model in (Category, OrgUnit):
            post_save.connect(_reference_changed, sender=model, dispatch_uid=f"api_forget_{model.__name__}")
            post_delete.connect(_reference_changed, sender=model, dispatch_uid=f"api_forget_del_{model.__name__}")
        post_save.connect(_user_changed, sender=get_user_model(), dispatch_uid="api_forget_user")
        post_save.connect(_token_changed, sender=ApiToken, dispatch_uid="api_forget_token")
        post_delete.connect(_token_changed, sender=ApiToken, dispatch_uid="api_forget_token_del")


def _reference_changed(sender, **kwargs) -> None:
    from minqing.api.inputs import forget_reference_data

    forget_reference_data()


def _user_changed(sender, instance, **kwargs) -> None:
    from minqing.api.tokens import forget_tokens

    forget_tokens(user_id=instance.pk)


def _token_changed(sender, instance, **kwargs) -> None:
    from minqing.api.tokens import forget_tokens

    forget_tokens(token_id=instance.pk)
