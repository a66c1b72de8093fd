from django.urls import path

from minqing.stats import views

app_name = "stats"
urlpatterns = [
    path("", views.overview, name="overview"),
    path("unit/<str:code>/", views.unit_dashboard, name="unit"),
    path("supervision/", views.supervision, name="supervision"),
    path("query/", views.query, name="query"),
    path("query/api/", views.query_api, name="query_api"),
    path("query/export.xlsx", views.export_xlsx, name="export"),
    path("query/save/", views.save_query, name="save_query"),
    path("query/saved/<int:pk>/", views.run_saved, name="run_saved"),
    path("query/saved/<int:pk>/delete/", views.delete_saved, name="delete_saved"),
    path("person/", views.person, name="person"),
    path("reports/", views.report_list, name="reports"),
    path("reports/<str:scope_code>/<str:period>/", views.report_page, name="report"),
    path("reports/<str:scope_code>/<str:period>/report.<str:fmt>", views.report_file, name="report_file"),
]
