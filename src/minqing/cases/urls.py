from django.urls import path

from minqing.cases import views

app_name = "cases"
urlpatterns = [
    path("<int:pk>/", views.case_detail, name="detail"),
]
