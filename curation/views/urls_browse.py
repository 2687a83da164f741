"""Page URLs for datasets, the sample browser, tags, images and the embedding map."""

from django.urls import URLPattern, path

from curation.views import dataset_defaults, datasets, embedding_map, media, samples, tags

urlpatterns: list[URLPattern] = [
    path("datasets/new/", datasets.dataset_create_view, name="dataset-create"),
    path("datasets/<int:dataset_id>/", samples.browser, name="dataset-browser"),
    path("datasets/<int:dataset_id>/delete/", datasets.dataset_delete_view, name="dataset-delete"),
    path("datasets/<int:dataset_id>/import/", datasets.dataset_import_view, name="dataset-import"),
    path(
        "datasets/<int:dataset_id>/samples/<int:sample_id>/",
        samples.sample_detail,
        name="sample-detail",
    ),
    path(
        "datasets/<int:dataset_id>/samples/<int:sample_id>/tags/",
        samples.sample_tags,
        name="sample-tags",
    ),
    path("datasets/<int:dataset_id>/tags/", tags.tag_list, name="tag-list"),
    path(
        "datasets/<int:dataset_id>/selection-defaults/",
        dataset_defaults.dataset_selection_defaults,
        name="dataset-selection-defaults",
    ),
    path("datasets/<int:dataset_id>/tags/<int:tag_id>/", tags.tag_detail, name="tag-detail"),
    path(
        "datasets/<int:dataset_id>/tags/<int:tag_id>/delete/",
        tags.tag_delete_view,
        name="tag-delete",
    ),
    path(
        "datasets/<int:dataset_id>/tags/<int:tag_id>/export/",
        tags.tag_export_view,
        name="tag-export",
    ),
    path("datasets/<int:dataset_id>/map/", embedding_map.embedding_map, name="embedding-map"),
    path("datasets/<int:dataset_id>/map/points/", embedding_map.map_points, name="map-points"),
    path("datasets/<int:dataset_id>/map/mask/", embedding_map.map_mask, name="map-mask"),
    path("media/samples/<int:sample_id>/image/", media.sample_image, name="sample-image"),
    path(
        "media/samples/<int:sample_id>/thumbnail/", media.sample_thumbnail, name="sample-thumbnail"
    ),
]
