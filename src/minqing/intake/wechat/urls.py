from django.urls import path

from minqing.intake.wechat import views

app_name = "wechat"
urlpatterns = [path("", views.callback, name="callback")]
