"""One sample as the client sees it: the list endpoint's fields at once, the rest on demand.

``file_name``, ``width``, ``height``, ``metadata`` come with every page of a query;
``tags``, ``annotations`` and ``scores`` are fetched the first time one of them is read — for
the whole page the sample came with (its ``SamplePage``: the same list request again with
``expand=tags,annotations,scores``), then kept. So ``to_list()`` of 100k samples stays one
request per 500 samples, and reading every sample's tags adds one request per page, not one
per sample. A sample that is not part of a page (or changed since: ``add_tag``, ``refresh``)
asks its own detail endpoint.
"""

from __future__ import annotations

import html
import posixpath
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from curation.client.datasets import ImageDataset

DETAILS = ("tags", "annotations", "scores")


class SamplePage:
    """The samples one list request returned, and that request, to fetch their details."""

    def __init__(self, dataset: ImageDataset, url: str, params: list[tuple[str, Any]]):
        self.dataset = dataset
        self.url = url
        self.params = params
        self.samples: list[Sample] = []
        self.fetched = False

    def fetch_details(self) -> None:
        """One request: the same page with tags, annotations and scores of every sample."""
        self.fetched = True
        body = self.dataset.connection.get(self.url, [*self.params, ("expand", ",".join(DETAILS))])
        by_id = {int(item["id"]): item for item in body["results"]}
        for sample in self.samples:
            if sample._detail is None and sample.id in by_id:
                sample._detail = by_id[sample.id]


class Sample:
    """A sample of a dataset (LightlyStudio's ``ImageSample``)."""

    def __init__(self, dataset: ImageDataset, data: dict[str, Any], page: SamplePage | None = None):
        self.dataset = dataset
        self._page = page
        self.id: int = int(data["id"])
        self.file_name: str = data["file_name"]
        self.width: int | None = data.get("width")
        self.height: int | None = data.get("height")
        self.size_bytes: int | None = data.get("size_bytes")
        self.metadata: dict[str, Any] = dict(data.get("metadata") or {})
        self.created: str | None = data.get("created")
        self._detail: dict[str, Any] | None = data if all(k in data for k in DETAILS) else None
        if page is not None:
            page.samples.append(self)

    def __repr__(self) -> str:
        return f"<Sample {self.id} {self.file_name!r}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sample) and other.id == self.id

    def __hash__(self) -> int:
        return hash(self.id)

    @property
    def sample_id(self) -> int:
        return self.id

    @property
    def file_path_abs(self) -> str:
        """The file's path on the server (its dataset's image folder joined with the name)."""
        root = self.dataset.image_root
        return posixpath.join(root, self.file_name) if root else self.file_name

    def _details(self) -> dict[str, Any]:
        if self._detail is None and self._page is not None and not self._page.fetched:
            self._page.fetch_details()
        if self._detail is None:
            self._detail = self.dataset.connection.get(
                f"datasets/{self.dataset.id}/samples/{self.id}/"
            )
        return self._detail

    def refresh(self) -> Sample:
        """Forget the fetched details and metadata; read them again."""
        self._detail, self._page = None, None
        self.metadata = dict(self._details().get("metadata") or {})
        return self

    @property
    def tags(self) -> list[str]:
        """Names of the tags holding this sample."""
        return [tag["name"] for tag in self._details().get("tags", [])]

    @property
    def annotations(self) -> list[dict[str, Any]]:
        """Annotations and predictions (task, kind, label, bbox [x, y, w, h], score, …)."""
        return list(self._details().get("annotations", []))

    @property
    def scores(self) -> list[dict[str, Any]]:
        return list(self._details().get("scores", []))

    def add_tag(self, name: str) -> None:
        self.dataset.add_tag_to_ids(name, [self.id])
        self._detail, self._page = None, None

    def remove_tag(self, name: str) -> None:
        self.dataset.remove_tag_from_ids(name, [self.id])
        self._detail, self._page = None, None

    @property
    def thumbnail_url(self) -> str:
        return f"{self.dataset.connection.url}/media/samples/{self.id}/thumbnail/"

    def _repr_html_(self) -> str:
        return thumbnail_grid([self])


def thumbnail_grid(samples: list[Sample], *, more: int = 0) -> str:
    """HTML of thumbnails with their file names (a notebook's ``_repr_html_``). The images come
    from the server, so the browser needs a session there (sign in to the web app once)."""
    cells = [
        '<figure style="display:inline-block;margin:2px;width:128px;text-align:center">'
        f'<img src="{html.escape(s.thumbnail_url)}" loading="lazy" '
        'style="max-width:128px;max-height:128px" alt="">'
        '<figcaption style="font-size:10px;overflow:hidden;text-overflow:ellipsis;'
        f'white-space:nowrap">{html.escape(s.file_name)}</figcaption></figure>'
        for s in samples
    ]
    tail = f"<p>… and {more} more</p>" if more > 0 else ""
    return "<div>" + "".join(cells) + "</div>" + tail
