from django.urls import path

from approvals import views as approval_views
from registry import job_views, views

app_name = "registry"

urlpatterns = [
    path("", views.model_list, name="model-list"),
    path("new/", views.model_create, name="model-create"),
    path("<slug:name>/", views.model_detail, name="model-detail"),
    path("<slug:name>/edit/", views.model_edit, name="model-edit"),
    path("<slug:name>/versions/new/", views.version_create, name="version-create"),
    path("<slug:name>/versions/<int:number>/", views.version_detail, name="version-detail"),
    path("<slug:name>/versions/<int:number>/download/", views.version_download, name="version-download"),
    path(
        "<slug:name>/versions/<int:number>/jobs/<str:kind>/",
        job_views.job_start,
        name="job-start",
    ),
    path(
        "<slug:name>/versions/<int:number>/request/<str:action>/",
        approval_views.request_open,
        name="request-open",
    ),
    path("<slug:name>/datasets/new/", views.dataset_create, name="dataset-create"),
    path("<slug:name>/datasets/<int:pk>/", views.dataset_detail, name="dataset-detail"),
    path("<slug:name>/datasets/<int:pk>/download/", views.dataset_download, name="dataset-download"),
]

job_urlpatterns = [
    path("", job_views.job_list, name="list"),
    path("compare/", job_views.job_compare, name="compare"),
    path("<int:pk>/", job_views.job_detail, name="detail"),
    path("<int:pk>/progress/", job_views.job_progress, name="progress"),
    path("<int:pk>/cancel/", job_views.job_cancel, name="cancel"),
]
