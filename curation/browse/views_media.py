"""Images and thumbnails, served only to users who may see the sample's dataset.

Paths go through the checked join (``curation.storage.paths.safe_join``): resolved, symlinks
included, they must stay below the dataset's ``image_root`` (originals) or ``MEDIA_ROOT``
(thumbnails), so absolute names, ``..`` or links out are answered with 404.
Responses carry ``Cache-Control: private``, an ``ETag`` and ``Last-Modified`` and honour
conditional requests. With ``CURATION_SENDFILE`` the web server sends the bytes:

- ``x-accel-redirect`` (nginx): ``X-Accel-Redirect: <CURATION_SENDFILE_PREFIX><absolute path>``,
  default prefix ``/_protected``; nginx needs an internal location that maps it back to the
  file system::

      location /_protected/ {
          internal;
          alias /;              # the checked absolute path follows the prefix
      }

- ``x-sendfile`` (Apache mod_xsendfile, Caddy, lighttpd): ``X-Sendfile: <absolute path>``.

Otherwise Django streams the file (``FileResponse``).
"""

from __future__ import annotations

import mimetypes
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseNotModified
from django.http.response import HttpResponseBase
from django.utils.http import http_date, parse_http_date_safe
from django.views.decorators.http import require_safe

from curation.access import datasets_visible_to
from curation.models import Sample
from curation.storage.frames import sample_file_path
from curation.storage.paths import UnsafePathError, safe_join

CACHE_CONTROL = "private, max-age=86400"


def _visible_sample(request: HttpRequest, sample_id: int) -> Sample:
    sample = (
        Sample.objects.filter(pk=sample_id, dataset__in=datasets_visible_to(request.user))
        .select_related("dataset")
        .only("id", "file_name", "thumbnail", "video", "dataset__id", "dataset__image_root")
        .first()
    )
    if sample is None:
        raise Http404("No such image.")
    return sample


def safe_path(root: str | Path, relative: str) -> Path:
    """``root/relative`` through the checked join, or 404 if it escapes ``root`` or is not a
    file."""
    try:
        candidate = safe_join(root, relative)
    except UnsafePathError:
        raise Http404("No such image.") from None
    if not candidate.is_file():
        raise Http404("No such image.")
    return candidate


def serve_file(request: HttpRequest, path: Path) -> HttpResponseBase:
    """``path`` (already checked) with caching headers, or through the web server's sendfile."""
    stat = path.stat()
    etag = f'"{stat.st_mtime_ns:x}-{stat.st_size:x}"'
    last_modified = http_date(stat.st_mtime)
    if_none_match = request.headers.get("If-None-Match")
    since = parse_http_date_safe(request.headers.get("If-Modified-Since", ""))
    if (if_none_match and etag in [t.strip() for t in if_none_match.split(",")]) or (
        not if_none_match and since is not None and int(stat.st_mtime) <= since
    ):
        response: HttpResponseBase = HttpResponseNotModified()
    else:
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        mode = settings.CURATION_SENDFILE
        if mode == "x-accel-redirect":
            prefix = settings.CURATION_SENDFILE_PREFIX
            response = HttpResponse(content_type=content_type)
            response["X-Accel-Redirect"] = prefix + quote(str(path))
        elif mode == "x-sendfile":
            response = HttpResponse(content_type=content_type)
            response["X-Sendfile"] = str(path)
        else:
            response = FileResponse(open(path, "rb"), content_type=content_type)  # noqa: SIM115
    response["ETag"] = etag
    response["Last-Modified"] = last_modified
    response["Cache-Control"] = CACHE_CONTROL
    return response


@login_required
@require_safe
def sample_image(request: HttpRequest, sample_id: int) -> HttpResponseBase:
    sample = _visible_sample(request, sample_id)
    return serve_file(request, _sample_file(sample))


def _sample_file(sample: Sample) -> Path:
    """The sample's own file (an image below the image folder, or a video frame in the frames
    store: ``storage.frames.sample_file_path``), or 404."""
    try:
        path = sample_file_path(sample)
    except UnsafePathError:
        raise Http404("No such image.") from None
    if not path.is_file():
        raise Http404("No such image.")
    return path


@login_required
@require_safe
def sample_thumbnail(request: HttpRequest, sample_id: int) -> HttpResponseBase:
    """The thumbnail if one was made, else the original image."""
    sample = _visible_sample(request, sample_id)
    if sample.thumbnail:
        try:
            return serve_file(request, safe_path(settings.MEDIA_ROOT, sample.thumbnail))
        except Http404:
            pass
    return serve_file(request, _sample_file(sample))
