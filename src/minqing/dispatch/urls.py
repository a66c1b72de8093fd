from django.urls import path

from minqing.dispatch import views

app_name = "dispatch"
urlpatterns = [
    path("supervision/", views.supervision_board_page, name="supervision"),
    path("supervision/<int:pk>/answer/", views.answer_view, name="answer"),
    path("supervision/<int:pk>/close/", views.close_view, name="close"),
    path("urge/<int:case_id>/", views.urge_view, name="urge"),
    path("supervise/<int:case_id>/", views.supervise_view, name="supervise"),
    path("suggest/", views.suggest_fragment, name="suggest"),
    path("acceptance/", views.acceptance_page, name="acceptance"),
    path("cases/<int:case_id>/link/<int:other_id>/", views.link_view, name="link"),
    path("cases/<int:case_id>/merge/<int:other_id>/", views.merge_view, name="merge"),
]
