from django.contrib.auth import views as auth_views
from django.urls import path

from portal.web import api, views

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/login/", views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("account/", views.account, name="account"),
    path("account/token/", views.account_token_rotate, name="account-token"),
    path("audit/", views.audit_list, name="audit-list"),
    path("api/v1/audit/checkpoints/", api.CheckpointListApi.as_view(), name="api-audit-checkpoints"),
]
