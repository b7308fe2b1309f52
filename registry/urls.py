from django.urls import path

from registry import views

app_name = "registry"

urlpatterns = [
    path("", views.model_list, name="model-list"),
    path("new/", views.model_create, name="model-create"),
    path("<slug:name>/", views.model_detail, name="model-detail"),
    path("<slug:name>/edit/", views.model_edit, name="model-edit"),
    path("<slug:name>/versions/new/", views.version_create, name="version-create"),
    path("<slug:name>/versions/<int:number>/", views.version_detail, name="version-detail"),
    path("<slug:name>/versions/<int:number>/download/", views.version_download, name="version-download"),
    path("<slug:name>/datasets/new/", views.dataset_create, name="dataset-create"),
    path("<slug:name>/datasets/<int:pk>/", views.dataset_detail, name="dataset-detail"),
    path("<slug:name>/datasets/<int:pk>/download/", views.dataset_download, name="dataset-download"),
]
