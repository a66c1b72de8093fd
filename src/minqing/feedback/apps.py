from django.apps import AppConfig


class FeedbackConfig(AppConfig):
    name = "minqing.feedback"
    label = "feedback"
    verbose_name = "事后评价"
