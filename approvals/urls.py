from django.urls import path

from approvals import views

app_name = "approvals"

urlpatterns = [
    path("approvals/", views.queue, name="queue"),
    path("approvals/requests/", views.request_list, name="request-list"),
    path("approvals/requests/<int:pk>/", views.request_detail, name="request-detail"),
    path("approvals/requests/<int:pk>/decide/", views.request_decide, name="request-decide"),
    path("approvals/requests/<int:pk>/withdraw/", views.request_withdraw, name="request-withdraw"),
    path("findings/", views.finding_list, name="finding-list"),
    path("findings/<int:pk>/", views.finding_detail, name="finding-detail"),
    path("findings/<int:pk>/edit/", views.finding_edit, name="finding-edit"),
    path("findings/<int:pk>/comment/", views.finding_comment, name="finding-comment"),
    path("findings/<int:pk>/<slug:action>/", views.finding_step, name="finding-step"),
    path("models/<slug:name>/versions/<int:number>/findings/new/", views.finding_create, name="finding-create"),
    # Opened from the version's page, under the registry's path for it.
    path("models/<slug:name>/versions/<int:number>/request/<str:action>/", views.request_open, name="request-open"),
]
