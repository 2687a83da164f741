"""``DatasetQuery``: a filter (compiled field expressions) plus an optional slice.

A query is lazy and immutable: ``match`` and slicing return new queries; nothing is fetched
until it is iterated, counted, listed, tagged, exported or selected from. The filter runs on
the server (the filter language); a slice is applied to the matching samples in id order.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, overload

from curation.client.connection import PAGE_SIZE
from curation.client.embeddings import TextSearchMixin
from curation.client.errors import QueryError
from curation.client.fields import And, Expr, Pairs, compile_expr
from curation.client.samples import Sample, SamplePage, thumbnail_grid
from curation.client.selection import Selection

if TYPE_CHECKING:
    from curation.client.datasets import ImageDataset

REPR_HTML_LIMIT = 48


class DatasetQuery(TextSearchMixin):
    """Samples of a dataset matching an expression (LightlyStudio's ``DatasetQuery``)."""

    def __init__(
        self,
        dataset: ImageDataset,
        expr: Expr | None = None,
        start: int = 0,
        stop: int | None = None,
    ):
        self.dataset = dataset
        self.expr = expr
        self.start = start
        self.stop = stop
        self._pairs = compile_expr(expr)  # a QueryError here, before anything is sent

    def __repr__(self) -> str:
        where = repr(self.expr) if self.expr is not None else "all samples"
        cut = f"[{self.start}:{'' if self.stop is None else self.stop}]" if self.sliced else ""
        return f"<DatasetQuery {self.dataset.name!r} {where}{cut}>"

    # ---- building ------------------------------------------------------------------------
    def match(self, expr: Expr) -> DatasetQuery:
        """This query narrowed by ``expr`` (``&`` with what it already matches)."""
        if self.sliced:
            raise QueryError("match() after a slice is ambiguous: match first, then slice.")
        combined = expr if self.expr is None else And((self.expr, expr))
        return DatasetQuery(self.dataset, combined)

    @property
    def sliced(self) -> bool:
        return self.start != 0 or self.stop is not None

    @property
    def filter_pairs(self) -> Pairs:
        """The filter-language parameters this query sends (``[("tag", "x"), …]``)."""
        return list(self._pairs)

    def filter_dict(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for key, value in self._pairs:
            out.setdefault(key, []).append(value)
        return out

    @overload
    def __getitem__(self, key: int) -> Sample: ...

    @overload
    def __getitem__(self, key: slice) -> DatasetQuery: ...

    def __getitem__(self, key: int | slice) -> Sample | DatasetQuery:
        if isinstance(key, int):
            if key < 0:
                raise QueryError("Negative indexes are not supported; use len(query) - 1.")
            found = DatasetQuery(self.dataset, self.expr, *self._cut(key, key + 1)).to_list()
            if not found:
                raise IndexError(f"query index {key} out of range")
            return found[0]
        if not isinstance(key, slice):
            raise TypeError("A query is indexed with an int or a slice like [:5].")
        if key.step not in (None, 1) or any(v is not None and v < 0 for v in (key.start, key.stop)):
            raise QueryError("Slices take non-negative start and stop and no step, e.g. [10:20].")
        return DatasetQuery(self.dataset, self.expr, *self._cut(key.start or 0, key.stop))

    def _cut(self, start: int, stop: int | None) -> tuple[int, int | None]:
        new_start = self.start + start
        new_stop = None if stop is None else self.start + stop
        if self.stop is not None:
            new_stop = self.stop if new_stop is None else min(new_stop, self.stop)
            new_start = min(new_start, self.stop)
        return new_start, new_stop

    # ---- reading -------------------------------------------------------------------------
    def __iter__(self) -> Iterator[Sample]:
        path = f"datasets/{self.dataset.id}/samples/"
        wanted = None if self.stop is None else self.stop - self.start
        page_size = PAGE_SIZE if wanted is None else max(1, min(PAGE_SIZE, self.start + wanted))
        seen = index = 0
        requests = self.dataset.connection.page_requests(path, self._pairs, page_size=page_size)
        for url, params, body in requests:
            page = SamplePage(self.dataset, url, params)
            for data in body["results"]:
                index += 1
                if index <= self.start:
                    continue
                if wanted is not None and seen >= wanted:
                    return
                seen += 1
                yield Sample(self.dataset, data, page)

    def to_list(self) -> list[Sample]:
        """Every matching sample (in id order), fetched 500 at a time; reading ``tags``,
        ``annotations`` or ``scores`` fetches them for the sample's whole page at once."""
        return list(iter(self))  # not list(self): that would ask len() (a COUNT) first

    def sample_ids(self) -> list[int]:
        return [sample.id for sample in self]

    def __len__(self) -> int:
        count = int(
            self.dataset.connection.get(f"datasets/{self.dataset.id}/samples/count/", self._pairs)[
                "count"
            ]
        )
        end = count if self.stop is None else min(count, self.stop)
        return max(0, end - self.start)

    def count(self) -> int:
        return len(self)

    # ---- writing -------------------------------------------------------------------------
    def add_tag(self, name: str) -> int:
        """Add the matching samples to tag ``name`` (created if absent); returns how many were
        new. Unsliced queries are tagged on the server in one statement."""
        if self.sliced:
            return self.dataset.add_tag_to_ids(name, self.sample_ids())
        return self.dataset.add_tag_to_filter(name, self.filter_dict())

    def remove_tag(self, name: str) -> int:
        """Remove the matching samples from tag ``name``; returns how many were removed."""
        if self.sliced:
            return self.dataset.remove_tag_from_ids(name, self.sample_ids())
        return self.dataset.remove_tag_from_filter(name, self.filter_dict())

    def export(
        self,
        format: str = "filenames",
        path: str | Path | None = None,
        *,
        task: str | None = None,
        embedding: str | None = None,
    ) -> Path:
        """Export the matching samples in any export format of the server (``filenames``,
        ``csv``, ``coco``, ``yolo``, ``lightly-csv``, ``video_frames`` for video frames, …) to
        ``path`` (a file; default: the server's file name in the current folder); returns the
        path written.

        A query that is exactly one tag exports that tag; any other query is first saved as a
        temporary tag (removed again afterwards)."""
        return self.dataset.export_query(
            self, format=format, path=path, task=task, embedding=embedding
        )

    # ---- selection -----------------------------------------------------------------------
    def selection(self) -> Selection:
        """Selection strategies over the matching samples (each call starts a run)."""
        if self.sliced:
            raise QueryError(
                "A selection takes a filter, not a slice: tag the slice first "
                "(query[:n].add_tag('x')) and select from SampleField.tags.contains('x')."
            )
        return Selection(self)

    sampling = selection  # LightlyStudio's other spelling

    def _repr_html_(self) -> str:
        shown = list(iter(self[:REPR_HTML_LIMIT]))
        more = len(self) - len(shown) if len(shown) == REPR_HTML_LIMIT else 0
        return f"<p>{len(shown) + more} samples of {self.dataset.name}</p>" + thumbnail_grid(
            shown, more=more
        )
