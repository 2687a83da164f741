"""``ImageDataset``: load or create a dataset on the server, fill it, query it, score it.

Names follow LightlyStudio's Python API (``load``, ``create``, ``load_or_create``,
``add_images_from_path``, ``query``, ``match``, ``compute_typicality_metadata`` …). Every write
goes through the server's JSON API, so the web app shows the same data at once; uploads and
computations are background jobs this client waits for with a progress bar.
"""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, overload

import numpy as np

from curation.client.connection import Connection, get_connection
from curation.client.embeddings import EmbeddingsMixin
from curation.client.errors import BadRequestError, NotFoundError
from curation.client.fields import Expr, SampleField
from curation.client.queries import DatasetQuery
from curation.client.runs import Job
from curation.client.samples import Sample
from curation.client.uploads import add_images

DEFAULT_DATASET_NAME = "default_dataset"


class ImageDataset(EmbeddingsMixin):
    """A dataset on a Curation server (LightlyStudio's ``ImageDataset``)."""

    def __init__(self, data: dict[str, Any], connection: Connection):
        self.connection = connection
        self.data = data

    def __repr__(self) -> str:
        return f"<ImageDataset {self.name!r} id={self.id} on {self.connection.url}>"

    # ---- finding ---------------------------------------------------------------------------
    @classmethod
    def _find(cls, name: str, connection: Connection) -> ImageDataset | None:
        for data in connection.pages("datasets/"):
            if data["name"] == name:
                return cls(data, connection)
        return None

    @classmethod
    def load(cls, name: str | None = None, *, connection: Connection | None = None) -> ImageDataset:
        """The dataset ``name`` (default ``default_dataset``); ``NotFoundError`` if there is
        none you may see."""
        conn = connection or get_connection()
        name = name or DEFAULT_DATASET_NAME
        found = cls._find(name, conn)
        if found is None:
            raise NotFoundError(
                f"No dataset named {name!r} on {conn.url} that this account may see: check the "
                "name, or create it with ImageDataset.create(name).",
                status=404,
            )
        return found

    @classmethod
    def create(
        cls,
        name: str | None = None,
        *,
        description: str = "",
        team: str | None = None,
        connection: Connection | None = None,
    ) -> ImageDataset:
        """A new empty dataset (default name ``default_dataset``), optionally shared with
        ``team``; a name taken is a ``BadRequestError``."""
        conn = connection or get_connection()
        body: dict[str, Any] = {"name": name or DEFAULT_DATASET_NAME, "description": description}
        if team is not None:
            body["team"] = team
        return cls(conn.post("datasets/", json=body), conn)

    @classmethod
    def load_or_create(
        cls, name: str | None = None, *, connection: Connection | None = None
    ) -> ImageDataset:
        """The dataset ``name`` (default ``default_dataset``), created when absent."""
        conn = connection or get_connection()
        found = cls._find(name or DEFAULT_DATASET_NAME, conn)
        return found if found is not None else cls.create(name, connection=conn)

    # ---- properties ----------------------------------------------------------------------
    @property
    def id(self) -> int:
        return int(self.data["id"])

    @property
    def name(self) -> str:
        return str(self.data["name"])

    @property
    def image_root(self) -> str:
        return str(self.data.get("image_root") or "")

    def refresh(self) -> ImageDataset:
        self.data = self.connection.get(f"datasets/{self.id}/")
        return self

    def delete(self) -> None:
        """Delete the dataset (owner or staff) and wait for the background deletion."""
        accepted = self.connection.request("DELETE", f"datasets/{self.id}/").json()
        Job(self.connection, accepted["job"], "Deleting").wait()

    # ---- queries ---------------------------------------------------------------------------
    def query(self) -> DatasetQuery:
        return DatasetQuery(self)

    def match(self, expr: Expr) -> DatasetQuery:
        return DatasetQuery(self, expr)

    def tag_query(self, name: str) -> DatasetQuery:
        return DatasetQuery(self, SampleField.tags.contains(name))

    @overload
    def __getitem__(self, key: int) -> Sample: ...

    @overload
    def __getitem__(self, key: slice) -> DatasetQuery: ...

    def __getitem__(self, key: int | slice) -> Sample | DatasetQuery:
        return self.query()[key]

    def __iter__(self) -> Iterator[Sample]:
        return iter(self.query())

    def __len__(self) -> int:
        return len(self.query())

    def _repr_html_(self) -> str:
        return self.query()._repr_html_()

    # ---- tags ----------------------------------------------------------------------------
    def tags(self) -> dict[str, int]:
        """Tag name -> number of samples."""
        return {
            t["name"]: t["sample_count"] for t in self.connection.pages(f"datasets/{self.id}/tags/")
        }

    def tag_id(self, name: str) -> int | None:
        for tag in self.connection.pages(f"datasets/{self.id}/tags/"):
            if tag["name"] == name:
                return int(tag["id"])
        return None

    def _existing_tag(self, name: str) -> int:
        tag_id = self.tag_id(name)
        if tag_id is None:
            raise NotFoundError(f"No tag named {name!r} in dataset {self.name!r}.", status=404)
        return tag_id

    def _tag_members(self, name: str, body: dict[str, Any], action: str) -> int:
        tag_id = self.tag_id(name) if action == "add" else self._existing_tag(name)
        if tag_id is None:
            created = self.connection.post(f"datasets/{self.id}/tags/", json={"name": name, **body})
            return int(created["sample_count"])
        result = self.connection.post(f"datasets/{self.id}/tags/{tag_id}/{action}/", json=body)
        return int(result["changed"])

    def add_tag_to_filter(self, name: str, sample_filter: Mapping[str, list[str]]) -> int:
        return self._tag_members(name, {"filter": dict(sample_filter)}, "add")

    def add_tag_to_ids(self, name: str, sample_ids: Sequence[int]) -> int:
        return self._tag_members(name, {"sample_ids": list(sample_ids)}, "add")

    def remove_tag_from_filter(self, name: str, sample_filter: Mapping[str, list[str]]) -> int:
        return self._tag_members(name, {"filter": dict(sample_filter)}, "remove")

    def remove_tag_from_ids(self, name: str, sample_ids: Sequence[int]) -> int:
        return self._tag_members(name, {"sample_ids": list(sample_ids)}, "remove")

    def delete_tag(self, name: str) -> None:
        self.connection.delete(f"datasets/{self.id}/tags/{self._existing_tag(name)}/")

    def export_query(
        self,
        query: DatasetQuery,
        *,
        format: str,
        path: str | Path | None,
        task: str | None = None,
        embedding: str | None = None,
    ) -> Path:
        """See ``DatasetQuery.export``."""
        pairs = query.filter_pairs
        temporary = None
        if not query.sliced and len(pairs) == 1 and pairs[0][0] == "tag":
            tag_id = self._existing_tag(pairs[0][1])
        else:
            temporary = f"export-{uuid.uuid4().hex[:12]}"
            query.add_tag(temporary)
            tag_id = self._existing_tag(temporary)
        params = {
            "format": format,
            **({"task": task} if task else {}),
            **({"embedding": embedding} if embedding else {}),
        }
        try:
            response = self.connection.request(
                "GET", f"datasets/{self.id}/tags/{tag_id}/export/", params=params
            )
        finally:
            if temporary is not None:
                self.connection.delete(f"datasets/{self.id}/tags/{tag_id}/")
        if path is None:
            disposition = response.headers.get("content-disposition", "")
            name = (
                disposition.split("filename=")[-1].strip('"')
                if "filename=" in disposition
                else f"export.{format}"
            )
            path = Path(name)
        target = Path(path)
        target.write_bytes(response.content)
        return target

    # ---- adding data -----------------------------------------------------------------------
    def add_images_from_path(
        self,
        path: str | Path,
        *,
        embed: bool | str = True,
        show_progress: bool | None = None,
        upload: bool | None = None,
        video_every: int | None = None,
        video_fps: float | None = None,
    ) -> dict[str, Any]:
        """Add the images (and videos: ``video_every``-th frame or ``video_fps`` frames per
        second, default 1) below ``path`` (recursively); returns the import summary.

        In place when the server may read ``path`` (below an import root of the account, or
        any folder for the local admin of an embedded ``make run``), else uploaded in
        resumable batches and committed all or nothing. ``embed``: compute the built-in
        embedding when the dataset has no other embedding space (``True``), never (``False``),
        or ``"always"``."""
        summary = add_images(
            self,
            path,
            embed=embed,
            show_progress=show_progress,
            upload=upload,
            video_every=video_every,
            video_fps=video_fps,
        )
        self.refresh()
        return summary

    def _upload(
        self,
        endpoint: str,
        files: dict[str, tuple[str, bytes]],
        data: dict[str, str],
        show_progress: bool | None,
    ) -> dict[str, Any]:
        accepted = self.connection.request(
            "POST", f"datasets/{self.id}/{endpoint}/", files=files, data=data
        ).json()
        return Job(self.connection, accepted["job"], "Importing").wait(show_progress=show_progress)

    def add_embeddings(
        self,
        embeddings: str | Path | np.ndarray,
        file_names: Sequence[str] | None = None,
        *,
        embedding_model_name: str = "default",
        normalize: bool = True,
        create_samples: bool = False,
        show_progress: bool | None = None,
    ) -> dict[str, Any]:
        """Add an embedding space from a file (Lightly CSV, .npy, .parquet) or a matrix with
        one row per name of ``file_names``. An existing space of that name is replaced."""
        data = {
            "name": embedding_model_name,
            "normalize": str(normalize).lower(),
            "create_samples": str(create_samples).lower(),
        }
        if isinstance(embeddings, np.ndarray):
            if file_names is None or len(file_names) != embeddings.shape[0]:
                raise BadRequestError("A matrix needs file_names, one per row.")
            buffer = io.BytesIO()
            np.save(buffer, np.asarray(embeddings, dtype=np.float32), allow_pickle=False)
            files = {
                "file": ("embeddings.npy", buffer.getvalue()),
                "file_names": ("file_names.json", json.dumps(list(file_names)).encode()),
            }
        else:
            source = Path(embeddings)
            files = {"file": (source.name, source.read_bytes())}
            if file_names is not None:
                files["file_names"] = ("file_names.json", json.dumps(list(file_names)).encode())
        return self._upload("embeddings", files, data, show_progress)

    def add_metadata(
        self,
        metadata: str | Path | Mapping[str, Mapping[str, Any]],
        *,
        show_progress: bool | None = None,
    ) -> dict[str, Any]:
        """Add custom metadata: a CSV / JSONL file, or ``{file_name: {key: value}}``."""
        if isinstance(metadata, Mapping):
            lines = [
                json.dumps({"file_name": name, **dict(values)}) for name, values in metadata.items()
            ]
            files = {"file": ("metadata.jsonl", ("\n".join(lines) + "\n").encode())}
        else:
            source = Path(metadata)
            files = {"file": (source.name, source.read_bytes())}
        return self._upload("metadata", files, {}, show_progress)

    def add_annotations_coco(
        self, path: str | Path, *, show_progress: bool | None = None
    ) -> dict[str, Any]:
        """Add ground-truth annotations from a COCO .json (or a classification .csv)."""
        source = Path(path)
        return self._upload(
            "annotations", {"file": (source.name, source.read_bytes())}, {}, show_progress
        )

    def add_predictions(
        self,
        path: str | Path,
        *,
        task: str | None = None,
        coco_reference: str | Path | None = None,
        show_progress: bool | None = None,
    ) -> dict[str, Any]:
        """Add model predictions of one task (COCO, a COCO results list with
        ``coco_reference``, or a classification CSV with probabilities)."""
        source = Path(path)
        files = {"file": (source.name, source.read_bytes())}
        if coco_reference is not None:
            reference = Path(coco_reference)
            files["coco_reference"] = (reference.name, reference.read_bytes())
        data = {"task": task} if task else {}
        return self._upload("predictions", files, data, show_progress)

    # ---- scores as metadata ----------------------------------------------------------------
    def compute_typicality_metadata(
        self,
        metadata_name: str = "typicality",
        embedding_model_name: str | None = None,
        num_nearest_neighbors: int = 20,
        *,
        show_progress: bool | None = None,
    ) -> str:
        """Store every sample's typicality as numeric metadata ``metadata_name``; returns it."""
        body: dict[str, Any] = {
            "metadata_name": metadata_name,
            "num_nearest_neighbors": num_nearest_neighbors,
        }
        if embedding_model_name is not None:
            body["embedding_model_name"] = embedding_model_name
        return self._scores("typicality", body, show_progress)

    def compute_similarity_metadata(
        self,
        query_tag_name: str,
        embedding_model_name: str | None = None,
        metadata_name: str | None = None,
        *,
        show_progress: bool | None = None,
    ) -> str:
        """Store every sample's similarity to the samples of ``query_tag_name`` as numeric
        metadata; returns the name (generated when ``metadata_name`` is omitted)."""
        body: dict[str, Any] = {"query_tag_name": query_tag_name}
        if metadata_name is not None:
            body["metadata_name"] = metadata_name
        if embedding_model_name is not None:
            body["embedding_model_name"] = embedding_model_name
        return self._scores("similarity", body, show_progress)

    def _scores(self, kind: str, body: dict[str, Any], show_progress: bool | None) -> str:
        accepted = self.connection.post(f"datasets/{self.id}/metadata/{kind}/", json=body)
        Job(self.connection, accepted["job"], f"Computing {kind}").wait(show_progress=show_progress)
        return str(accepted["metadata_name"])
