"""Page URLs of videos: the dataset's video list and one video's frame viewer."""

from django.urls import URLPattern, path

from curation.videos import views

urlpatterns: list[URLPattern] = [
    path("datasets/<int:dataset_id>/videos/", views.video_list, name="video-list"),
    path(
        "datasets/<int:dataset_id>/videos/<int:video_id>/",
        views.video_detail,
        name="video-detail",
    ),
]
