from django.urls import path

from approvals.api import views

urlpatterns = [
    path("requests/", views.RequestListCreateApi.as_view(), name="api-request-list"),
    path("requests/<int:pk>/", views.RequestDetailApi.as_view(), name="api-request-detail"),
    path("requests/<int:pk>/decide/", views.RequestDecideApi.as_view(), name="api-request-decide"),
    path("requests/<int:pk>/withdraw/", views.RequestWithdrawApi.as_view(), name="api-request-withdraw"),
    path("findings/", views.FindingListCreateApi.as_view(), name="api-finding-list"),
    path("findings/<int:pk>/", views.FindingDetailApi.as_view(), name="api-finding-detail"),
    path("findings/<int:pk>/steps/", views.FindingStepApi.as_view(), name="api-finding-step"),
    path("findings/<int:pk>/comments/", views.FindingCommentApi.as_view(), name="api-finding-comments"),
    path("production/", views.ProductionApi.as_view(), name="api-production"),
    path(
        "models/<str:name>/versions/<int:number>/attestations/",
        views.VersionAttestationsApi.as_view(),
        name="api-version-attestations",
    ),
    path("keys/", views.PublicKeysApi.as_view(), name="api-keys"),
    path("keys/pem/", views.public_keys_pem, name="api-keys-pem"),
]
