"""Curation's Python client: LightlyStudio's Python API over Curation's JSON API.

``import curation.client as ls`` runs LightlyStudio's documented notebook code against a
Curation server (a laptop's ``make run`` or the team's server)::

    import curation.client as ls
    from curation.client import ImageSampleField

    ls.connect("http://127.0.0.1:8000", token="cur_...")   # or CURATION_URL / CURATION_TOKEN
    dataset = ls.ImageDataset.load_or_create("street")
    dataset.add_images_from_path(path="./images")
    dataset.match(ImageSampleField.width >= 1920).selection().diverse(
        n_samples_to_select=10, selection_result_tag_name="diverse_hd")

No Django import anywhere in this package (httpx and numpy only); every call is an HTTP request,
so the server's rules (access, tag names, configs) apply unchanged and the web app shows the
results at once.
"""

from curation.client.connection import Connection, connect, get_connection
from curation.client.datasets import DEFAULT_DATASET_NAME, ImageDataset
from curation.client.embeddings import TextSearch, embedding_models
from curation.client.errors import (
    AuthenticationError,
    BadRequestError,
    ConflictError,
    CurationError,
    JobFailedError,
    NotFoundError,
    PermissionDeniedError,
    QueryError,
    RunFailedError,
    ServerError,
    ServerUnreachable,
)
from curation.client.fields import ImageSampleField, SampleField
from curation.client.queries import DatasetQuery
from curation.client.runs import Job, Run
from curation.client.samples import Sample
from curation.client.selection import Selection
from curation.client.strategies import (
    AnnotationBalancingStrategy,
    EmbeddingDiversityStrategy,
    MetadataWeightingStrategy,
    RandomStrategy,
    SelectionStrategy,
    SimilarityStrategy,
    ThresholdStrategy,
    TypicalityStrategy,
)

__all__ = [
    "DEFAULT_DATASET_NAME",
    "AnnotationBalancingStrategy",
    "AuthenticationError",
    "BadRequestError",
    "ConflictError",
    "Connection",
    "CurationError",
    "DatasetQuery",
    "EmbeddingDiversityStrategy",
    "ImageDataset",
    "ImageSampleField",
    "Job",
    "JobFailedError",
    "MetadataWeightingStrategy",
    "NotFoundError",
    "PermissionDeniedError",
    "QueryError",
    "RandomStrategy",
    "Run",
    "RunFailedError",
    "Sample",
    "SampleField",
    "Selection",
    "SelectionStrategy",
    "ServerError",
    "ServerUnreachable",
    "SimilarityStrategy",
    "TextSearch",
    "ThresholdStrategy",
    "TypicalityStrategy",
    "connect",
    "embedding_models",
    "get_connection",
]
