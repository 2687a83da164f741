"""Page URLs of browsing: the sample browser, a sample, images, the embedding map."""

from django.urls import URLPattern, path

from curation.browse import (
    views,
    views_display,
    views_facets,
    views_map,
    views_map_colours,
    views_media,
    views_sample,
    views_saved,
    views_similar,
)

urlpatterns: list[URLPattern] = [
    path("datasets/<int:dataset_id>/", views.browser, name="dataset-browser"),
    path(
        "datasets/<int:dataset_id>/samples/<int:sample_id>/",
        views_sample.sample_detail,
        name="sample-detail",
    ),
    path(
        "datasets/<int:dataset_id>/samples/<int:sample_id>/tags/",
        views_sample.sample_tags,
        name="sample-tags",
    ),
    path("datasets/<int:dataset_id>/views/", views_saved.saved_view_save, name="saved-view-save"),
    path(
        "datasets/<int:dataset_id>/views/<int:view_id>/delete/",
        views_saved.saved_view_remove,
        name="saved-view-delete",
    ),
    path("datasets/<int:dataset_id>/facets/tags/", views_facets.facet_tags, name="facet-tags"),
    path(
        "datasets/<int:dataset_id>/facets/labels/", views_facets.facet_labels, name="facet-labels"
    ),
    path(
        "datasets/<int:dataset_id>/facets/values/", views_facets.facet_values, name="facet-values"
    ),
    path(
        "datasets/<int:dataset_id>/facets/histogram/",
        views_facets.facet_histogram,
        name="facet-histogram",
    ),
    path("datasets/<int:dataset_id>/similar/", views_similar.find_similar, name="find-similar"),
    path("datasets/<int:dataset_id>/map/", views_map.embedding_map, name="embedding-map"),
    path("datasets/<int:dataset_id>/map/points/", views_map.map_points, name="map-points"),
    path("datasets/<int:dataset_id>/map/mask/", views_map.map_mask, name="map-mask"),
    path("datasets/<int:dataset_id>/map/compute/", views_map.map_compute, name="map-compute"),
    path(
        "datasets/<int:dataset_id>/map/colours/", views_map_colours.map_colours, name="map-colours"
    ),
    path(
        "datasets/<int:dataset_id>/map/samples/<int:sample_id>/hover/",
        views_map_colours.map_hover,
        name="map-hover",
    ),
    path("browse/thumbnail-size/", views_display.thumbnail_size_set, name="thumbnail-size"),
    path("media/samples/<int:sample_id>/image/", views_media.sample_image, name="sample-image"),
    path(
        "media/samples/<int:sample_id>/thumbnail/",
        views_media.sample_thumbnail,
        name="sample-thumbnail",
    ),
]
