"""Crops of objects, served only to users who may see the object's dataset (404 otherwise, as
for images): the box of the original image plus ``?padding=`` (one of the offered fractions),
shrunk to a thumbnail, made on the first request and cached on disk (``curation.objects.crops``).
The cache file is the only thing a GET here writes; it is served as images are (``ETag``,
conditional requests, sendfile)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest
from django.http.response import HttpResponseBase
from django.views.decorators.http import require_safe

from curation.access import datasets_visible_to
from curation.browse.views_media import serve_file
from curation.models import Annotation
from curation.objects.crops import CropRequest, CropUnavailable, crop_cached
from curation.objects.forms import CropForm


@login_required
@require_safe
def object_crop(request: HttpRequest, annotation_id: int) -> HttpResponseBase:
    row = (
        Annotation.objects.filter(
            pk=annotation_id, sample__dataset__in=datasets_visible_to(request.user)
        )
        .filter(x__isnull=False, y__isnull=False, w__isnull=False, h__isnull=False)
        .values_list(
            "sample__dataset_id",
            "sample__dataset__image_root",
            "sample__file_name",
            "sample__video_id",
            "x",
            "y",
            "w",
            "h",
        )
        .first()
    )
    if row is None:
        raise Http404("No such object.")
    padding = CropForm(request.GET).chosen_padding()
    dataset_id, image_root, file_name, video_id, x, y, w, h = row
    box = (float(x or 0), float(y or 0), float(w or 0), float(h or 0))  # never null: filtered
    crop = CropRequest(
        dataset_id, image_root or "", file_name, box, float(padding), is_frame=video_id is not None
    )
    try:
        path = crop_cached(crop, settings.MEDIA_ROOT)
    except CropUnavailable as exc:
        raise Http404(str(exc)) from None
    return serve_file(request, path)
