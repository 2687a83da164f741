"""Embeddings from your own ONNX model and text search, in the client.

- ``dataset.compute_embeddings(model="open-clip", name="clip")`` runs a model registered on the
  server (``embedding_models()`` lists those you may use) over every image of the dataset as a
  background job, with a progress bar; staff may give server paths instead
  (``image_model=``, ``text_model=``, ``tokenizer=``). Returns the job's summary.
- ``dataset.query().text_search("a dog on snow")`` (or ``dataset.match(TextSearch(...))``):
  the samples best match first (cosine similarity in a space computed with a text model);
  ``top=N`` keeps only the N best, e.g. as the candidates of a selection.

No Django here (the client's rule): every call is an HTTP request.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from curation.client.connection import Connection, get_connection
from curation.client.errors import QueryError
from curation.client.fields import Expr
from curation.client.runs import Job

if TYPE_CHECKING:
    from curation.client.queries import DatasetQuery


@dataclass(frozen=True, eq=False)
class TextSearch(Expr):
    """``text=`` of the filter language: order by similarity to ``text`` (best first)."""

    text: str
    space: str | None = None
    top: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.text, str) or not self.text.strip():
            raise QueryError("text_search needs a non-empty text, e.g. 'a dog on snow'.")
        if self.top is not None and (not isinstance(self.top, int) or self.top < 1):
            raise QueryError("top must be a whole number of at least 1.")

    def __repr__(self) -> str:
        return f"TextSearch({self.text!r})"

    def filter_pairs(self) -> list[tuple[str, str]]:
        pairs = [("text", self.text)]
        pairs += [("space", self.space)] if self.space else []
        pairs += [("text_top", str(self.top))] if self.top else []
        return pairs


def embedding_models(connection: Connection | None = None) -> list[dict[str, Any]]:
    """The ONNX models registered on the server that you may use (name, dimension, …)."""
    found: list[dict[str, Any]] = (connection or get_connection()).get("embedding-models/")[
        "results"
    ]
    return found


class TextSearchMixin:
    """``DatasetQuery.text_search``."""

    def match(self, expr: Expr) -> DatasetQuery:
        raise NotImplementedError

    def text_search(
        self, text: str, *, space: str | None = None, top: int | None = None
    ) -> DatasetQuery:
        """This query's samples, best match for ``text`` first (``top``: only the best N)."""
        return self.match(TextSearch(text, space=space, top=top))


class EmbeddingsMixin:
    """``ImageDataset.compute_embeddings``."""

    connection: Connection

    @property
    def id(self) -> int:  # ImageDataset's
        raise NotImplementedError

    def compute_embeddings(
        self,
        model: str | None = None,
        name: str = "default",
        *,
        batch_size: int | None = None,
        image_model: str | None = None,
        text_model: str | None = None,
        tokenizer: str | None = None,
        show_progress: bool | None = None,
    ) -> dict[str, Any]:
        """Compute embedding space ``name`` with a registered model (or, for staff, model
        paths on the server); waits for the job and returns its summary. An existing space of
        that name is replaced only when every image is done."""
        body: dict[str, Any] = {"name": name}
        for key, value in (
            ("model", model),
            ("batch_size", batch_size),
            ("image_model", image_model),
            ("text_model", text_model),
            ("tokenizer", tokenizer),
        ):
            if value is not None:
                body[key] = value
        accepted = self.connection.post(f"datasets/{self.id}/embeddings/compute/", json=body)
        job = Job(self.connection, accepted["job"], f"Embedding {name!r}")
        return job.wait(show_progress=show_progress)
