"""Page URLs of browsing: the sample browser, a sample, images, the embedding map."""

from django.urls import URLPattern, path

from curation.browse import views, views_map, views_media

urlpatterns: list[URLPattern] = [
    path("datasets/<int:dataset_id>/", views.browser, name="dataset-browser"),
    path(
        "datasets/<int:dataset_id>/samples/<int:sample_id>/",
        views.sample_detail,
        name="sample-detail",
    ),
    path(
        "datasets/<int:dataset_id>/samples/<int:sample_id>/tags/",
        views.sample_tags,
        name="sample-tags",
    ),
    path("datasets/<int:dataset_id>/map/", views_map.embedding_map, name="embedding-map"),
    path("datasets/<int:dataset_id>/map/points/", views_map.map_points, name="map-points"),
    path("datasets/<int:dataset_id>/map/mask/", views_map.map_mask, name="map-mask"),
    path("datasets/<int:dataset_id>/map/compute/", views_map.map_compute, name="map-compute"),
    path("media/samples/<int:sample_id>/image/", views_media.sample_image, name="sample-image"),
    path(
        "media/samples/<int:sample_id>/thumbnail/",
        views_media.sample_thumbnail,
        name="sample-thumbnail",
    ),
]
