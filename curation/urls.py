from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from curation.views import datasets, health, jobs, login, runs

urlpatterns = [
    path("", datasets.dataset_list, name="dataset-list"),
    path("", include("curation.views.urls_browse")),
    path("", include("curation.views.urls_select")),
    path("runs/<int:run_id>/", runs.run_detail, name="run-detail"),
    path("runs/<int:run_id>/cancel/", runs.run_cancel, name="run-cancel"),
    path("runs/<int:run_id>/rerun/", runs.run_rerun, name="run-rerun"),
    path("jobs/<int:job_id>/", jobs.job_detail, name="job-detail"),
    path("jobs/<int:job_id>/cancel/", jobs.job_cancel_view, name="job-cancel"),
    path("api/", include("curation.api.urls")),
    path("", include("curation.api.urls_pages")),
    path("accounts/login/", login.login_view, name="login"),  # throttled (issue 10.4)
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("healthz", health.healthz, name="healthz"),
    path("admin/login/", login.admin_login_view),  # the admin's sign-in, throttled too
    path("admin/", admin.site.urls),
]

handler400 = "curation.views.errors.handler400"  # one sentence instead of "Bad Request (400)"
