from django.urls import path

from transfers import tus

urlpatterns = [
    path("", tus.UploadCollectionApi.as_view(), name="upload-list"),
    path("<uuid:pk>/", tus.UploadDetailApi.as_view(), name="upload-detail"),
]
