from django.urls import path

from minqing.cases import views

app_name = "cases"
urlpatterns = [
    path("", views.case_list, name="list"),
    path("inbox/", views.inbox, name="inbox"),
    path("inbox/notifications/<int:pk>/read/", views.mark_notification_read, name="notification_read"),
    path("new/", views.register, name="new"),
    path("new/duplicates/", views.duplicate_check, name="duplicates"),
    path("options/categories/", views.category_options, name="category_options"),
    path("options/villages/", views.village_options, name="village_options"),
    path("<int:pk>/", views.case_detail, name="detail"),
    path("<int:pk>/act/<slug:action>/", views.case_action, name="act"),
    path("<int:pk>/panels/<int:slot>/", views.case_panel, name="panel"),
    path("<int:pk>/attachments/<int:attachment_id>/", views.attachment, name="attachment"),
]
