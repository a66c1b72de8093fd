"""The project's URLs plus the approvals and dispatch pages, for tests run before the root includes them."""

from django.urls import include, path

from minqing.urls import urlpatterns as project_urlpatterns

_namespaces = {getattr(pattern, "namespace", None) for pattern in project_urlpatterns}
urlpatterns = list(project_urlpatterns)
if "approvals" not in _namespaces:
    urlpatterns.append(path("approvals/", include("minqing.approvals.urls")))
if "dispatch" not in _namespaces:
    urlpatterns.append(path("dispatch/", include("minqing.dispatch.urls")))
