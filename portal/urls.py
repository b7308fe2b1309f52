from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from portal import dashboard_views, views
from registry.urls import job_urlpatterns

handler403 = "portal.views.permission_denied"
handler404 = "portal.views.page_not_found"
handler500 = "portal.views.server_error"

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/login/", views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("account/", views.account, name="account"),
    path("account/token/", views.account_token_rotate, name="account-token"),
    path("audit/", views.audit_list, name="audit-list"),
    path("dashboard/", dashboard_views.dashboard, name="dashboard"),
    path("dashboard/models/", dashboard_views.dashboard_drill, name="dashboard-drill"),
    path("api/v1/debt/", dashboard_views.DebtApi.as_view(), name="api-debt"),
    path("models/", include("registry.urls")),
    path("jobs/", include((job_urlpatterns, "jobs"))),
    path("approvals/", include("approvals.urls")),
    path("api/v1/", include("registry.api.urls")),
    path("api/v1/", include("approvals.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", login_required(SpectacularSwaggerSplitView.as_view(url_name="api-schema")), name="api-docs"),
    path("admin/", admin.site.urls),
]

if settings.OIDC_ENABLED:
    urlpatterns.append(path("oidc/", include("mozilla_django_oidc.urls")))
