from django.urls import path

from portal.compliance import views

VERSION = "models/<slug:name>/versions/<int:number>"

urlpatterns = [
    path(f"{VERSION}/pack/", views.pack_page, name="compliance-pack"),
    path(f"{VERSION}/pack.pdf", views.pack_pdf, name="compliance-pack-pdf"),
    path(f"{VERSION}/pack.json", views.pack_json, name="compliance-pack-json"),
    path(f"api/v1/{VERSION}/pack/", views.VersionPackApi.as_view(), name="api-version-pack"),
]
