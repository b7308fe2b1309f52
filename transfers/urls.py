from django.urls import path

from transfers import api, tus

urlpatterns = [
    path("", tus.UploadCollectionApi.as_view(), name="upload-list"),
    path("<uuid:pk>/", tus.UploadDetailApi.as_view(), name="upload-detail"),
    # Without the slash too: `curl -T FILE URL/` would append the file's name to a URL that ends in one.
    path("<uuid:pk>", tus.UploadDetailAliasApi.as_view()),
    path("direct/", api.DirectUploadListApi.as_view(), name="upload-direct-list"),
    path("direct/<uuid:pk>/", api.DirectUploadDetailApi.as_view(), name="upload-direct-detail"),
    path("direct/<uuid:pk>/complete/", api.DirectUploadCompleteApi.as_view(), name="upload-direct-complete"),
]
