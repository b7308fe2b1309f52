from django.urls import path

from registry.api import views

urlpatterns = [
    path("jobs/", views.JobListCreateApi.as_view(), name="api-job-list"),
    path("jobs/<int:pk>/", views.JobDetailApi.as_view(), name="api-job-detail"),
    path("jobs/<int:pk>/cancel/", views.JobCancelApi.as_view(), name="api-job-cancel"),
    path("workers/", views.WorkerListApi.as_view(), name="api-worker-list"),
    path("models/", views.ModelListCreateApi.as_view(), name="api-model-list"),
    path("models/<slug:name>/", views.ModelDetailApi.as_view(), name="api-model-detail"),
    path("models/<slug:name>/risk-tier/", views.ModelRiskTierApi.as_view(), name="api-model-risk-tier"),
    path("models/<slug:name>/versions/", views.VersionListCreateApi.as_view(), name="api-version-list"),
    path("models/<slug:name>/versions/<int:number>/", views.VersionDetailApi.as_view(), name="api-version-detail"),
    path(
        "models/<slug:name>/versions/<int:number>/artifact/",
        views.VersionArtifactApi.as_view(),
        name="api-version-artifact",
    ),
    path(
        "models/<slug:name>/versions/<int:number>/observations/",
        views.ObservationListCreateApi.as_view(),
        name="api-observation-list",
    ),
    path(
        "models/<slug:name>/versions/<int:number>/reference/",
        views.VersionReferenceApi.as_view(),
        name="api-version-reference",
    ),
    path("models/<slug:name>/datasets/", views.DatasetListCreateApi.as_view(), name="api-dataset-list"),
    path("models/<slug:name>/datasets/<int:pk>/file/", views.DatasetFileApi.as_view(), name="api-dataset-file"),
    path("models/<slug:name>/datasets/<int:pk>/", views.DatasetDetailApi.as_view(), name="api-dataset-detail"),
]
