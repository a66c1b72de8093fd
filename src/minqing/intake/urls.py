"""Mounted by minqing.urls at /m/ (the citizen and informant pages; the service worker's scope)."""

from django.urls import path

from minqing.intake import views

app_name = "intake"
urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.login_view, name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("session.json", views.session_info, name="session"),
    path("report/", views.report, name="report"),
    path("cases/", views.my_cases, name="my_cases"),
    path("cases/<str:reference>/", views.case_detail, name="case"),
    path("cases/<str:reference>/receipt/", views.receipt, name="receipt"),
    path("query/", views.query, name="query"),
    path("informant/", views.informant_home, name="informant"),
    path("informant/report/", views.informant_report, name="informant_report"),
    path("manifest.webmanifest", views.manifest, name="manifest"),
    path("sw.js", views.service_worker, name="service_worker"),
    path("offline/", views.offline, name="offline"),
]
