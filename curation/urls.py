from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from curation.views import datasets, health, runs

urlpatterns = [
    path("", datasets.dataset_list, name="dataset-list"),
    path("", include("curation.views.urls_browse")),
    path("", include("curation.views.urls_select")),
    path("runs/<int:run_id>/", runs.run_detail, name="run-detail"),
    path("runs/<int:run_id>/cancel/", runs.run_cancel, name="run-cancel"),
    path("runs/<int:run_id>/rerun/", runs.run_rerun, name="run-rerun"),
    path("api/", include("curation.api.urls")),
    path("", include("curation.api.urls_pages")),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("healthz", health.healthz, name="healthz"),
    path("admin/", admin.site.urls),
]
