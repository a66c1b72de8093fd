from django.conf import settings
from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("accounts/", include("minqing.accounts.urls")),
    path("cases/", include("minqing.cases.urls")),
    path("approvals/", include("minqing.approvals.urls")),
    path("dispatch/", include("minqing.dispatch.urls")),
    path("stats/", include("minqing.stats.urls")),
    path("feedback/", include("minqing.feedback.urls")),
    path("alerts/", include("minqing.alerts.urls")),
    path("api/v1/", include("minqing.api.urls")),
    path("m/", include("minqing.intake.urls")),
    path("wechat/", include("minqing.intake.wechat.urls")),
    path("open311/v2/", include("minqing.intake.open311.urls")),
    path("", include("minqing.web.urls")),
]

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
