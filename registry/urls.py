from django.urls import path

from registry.views import datasets, jobs, models, versions, workers

app_name = "registry"

urlpatterns = [
    path("", models.model_list, name="model-list"),
    path("new/", models.model_create, name="model-create"),
    path("<slug:name>/", models.model_detail, name="model-detail"),
    path("<slug:name>/edit/", models.model_edit, name="model-edit"),
    path("<slug:name>/risk-tier/", models.model_risk_tier, name="model-risk-tier"),
    path("<slug:name>/versions/new/", versions.version_create, name="version-create"),
    path("<slug:name>/versions/<int:number>/", versions.version_detail, name="version-detail"),
    path("<slug:name>/versions/<int:number>/download/", versions.version_download, name="version-download"),
    path("<slug:name>/versions/<int:number>/jobs/<str:kind>/", jobs.job_start, name="job-start"),
    path("<slug:name>/datasets/new/", datasets.dataset_create, name="dataset-create"),
    path("<slug:name>/datasets/<int:pk>/", datasets.dataset_detail, name="dataset-detail"),
    path("<slug:name>/datasets/<int:pk>/download/", datasets.dataset_download, name="dataset-download"),
]

job_urlpatterns = [
    path("", jobs.job_list, name="list"),
    path("compare/", jobs.job_compare, name="compare"),
    path("<int:pk>/", jobs.job_detail, name="detail"),
    path("<int:pk>/progress/", jobs.job_progress, name="progress"),
    path("<int:pk>/cancel/", jobs.job_cancel, name="cancel"),
]

worker_urlpatterns = [
    path("", workers.worker_list_page, name="list"),
]
