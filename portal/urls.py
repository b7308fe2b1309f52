"""The site's URLs: each app mounts its own, at the paths it owns."""

from django.conf import settings
from django.contrib import admin
from django.contrib.auth.decorators import login_required
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from registry.urls import job_urlpatterns, worker_urlpatterns

handler403 = "portal.web.views.permission_denied"
handler404 = "portal.web.views.page_not_found"
handler500 = "portal.web.views.server_error"

urlpatterns = [
    path("", include("portal.web.urls")),
    path("", include("portal.dashboard.urls")),
    path("", include("portal.compliance.urls")),
    path("models/", include("registry.urls")),
    path("jobs/", include((job_urlpatterns, "jobs"))),
    path("workers/", include((worker_urlpatterns, "workers"))),
    path("", include("approvals.urls")),
    path("imports/", include("imports.urls")),
    path("api/v1/uploads/", include("transfers.urls")),
    path("api/v1/", include("registry.api.urls")),
    path("api/v1/", include("approvals.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", login_required(SpectacularSwaggerSplitView.as_view(url_name="api-schema")), name="api-docs"),
    path("admin/", admin.site.urls),
]

if settings.OIDC_ENABLED:
    urlpatterns.append(path("oidc/", include("mozilla_django_oidc.urls")))
