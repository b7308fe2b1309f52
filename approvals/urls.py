from django.urls import path

from approvals import views

app_name = "approvals"

urlpatterns = [
    path("approvals/", views.queue, name="queue"),
    path("approvals/requests/", views.request_list, name="request-list"),
    path("approvals/requests/<int:pk>/", views.request_detail, name="request-detail"),
    path("approvals/requests/<int:pk>/decide/", views.request_decide, name="request-decide"),
    path("approvals/requests/<int:pk>/withdraw/", views.request_withdraw, name="request-withdraw"),
    # Opened from the version's page, under the registry's path for it.
    path("models/<slug:name>/versions/<int:number>/request/<str:action>/", views.request_open, name="request-open"),
]
