from django.urls import path

from portal.dashboard import views

urlpatterns = [
    path("dashboard/", views.dashboard, name="dashboard"),
    path("dashboard/models/", views.dashboard_drill, name="dashboard-drill"),
    path("api/v1/debt/", views.DebtApi.as_view(), name="api-debt"),
]
