from django.urls import path

from minqing.alerts import views

app_name = "alerts"

urlpatterns = [
    path("", views.alert_list, name="list"),
    path("<int:pk>/", views.alert_detail, name="detail"),
    path("<int:pk>/<str:action>/", views.alert_action, name="action"),
]
