"""Page URLs of background jobs (imports, deletions): progress and cancel."""

from django.urls import URLPattern, path

from curation.jobs import views

urlpatterns: list[URLPattern] = [
    path("jobs/<int:job_id>/", views.job_detail, name="job-detail"),
    path("jobs/<int:job_id>/cancel/", views.job_cancel_view, name="job-cancel"),
]
