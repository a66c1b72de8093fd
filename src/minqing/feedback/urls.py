from django.urls import path

from minqing.feedback import views

app_name = "feedback"
urlpatterns = [
    path("rate/<str:token>/", views.rate_by_link, name="rate_link"),
    path("rate/<str:token>/review/", views.review_by_link, name="review_link"),
    path("cases/<int:pk>/rate/", views.rate_own, name="rate"),
    path("cases/<int:pk>/review/", views.review_own, name="review"),
    path("reviews/", views.review_queue, name="reviews"),
    path("reviews/<int:pk>/decide/", views.review_decide, name="review_decide"),
    path("calls/", views.call_queue, name="calls"),
    path("calls/<int:pk>/", views.call_record, name="call_record"),
    path("summary/", views.summary, name="summary"),
]
