from django.apps import AppConfig


class FeedbackConfig(AppConfig):
    name = "minqing.feedback"
    label = "feedback"
    verbose_name = "事后评价"

    def ready(self) -> None:
        from minqing.cases.selectors import CASE_PANELS, EXTRA_INBOX_QUEUES
        from minqing.feedback.panels import case_panel
        from minqing.feedback.selectors import follow_up_tile, review_tile

        EXTRA_INBOX_QUEUES.extend([follow_up_tile, review_tile])
        CASE_PANELS.append(case_panel)
