"""Mounted by minqing.urls at /api/v1/."""

from django.urls import path

from minqing.api.main import api

urlpatterns = [path("", api.urls)]
