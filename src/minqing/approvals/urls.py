from django.urls import path

from minqing.approvals import views

app_name = "approvals"
urlpatterns = [
    path("", views.queue_page, name="queue"),
    path("new/<int:case_id>/<str:kind>/", views.new_request, name="new"),
    path("<int:pk>/decide/", views.decide_view, name="decide"),
    path("<int:pk>/withdraw/", views.withdraw_view, name="withdraw"),
]
