"""All Curation models, importable from ``curation.models``."""

from curation.models.annotations import Annotation, AnnotationTask, Score
from curation.models.datasets import Dataset
from curation.models.embedding_models import EmbeddingModel
from curation.models.embeddings import EmbeddingSpace
from curation.models.import_roots import ImportRoot
from curation.models.jobs import Job
from curation.models.login_failures import LoginFailure
from curation.models.presets import StrategyPreset
from curation.models.runs import SelectionRun
from curation.models.samples import Sample
from curation.models.saved_views import SavedView
from curation.models.tags import Tag, TagAnnotation, TagSample
from curation.models.tokens import ApiToken
from curation.models.videos import Video
from curation.models.workers import WorkerHeartbeat

__all__ = [
    "Annotation",
    "AnnotationTask",
    "ApiToken",
    "Dataset",
    "EmbeddingModel",
    "EmbeddingSpace",
    "ImportRoot",
    "Job",
    "LoginFailure",
    "Sample",
    "SavedView",
    "Score",
    "SelectionRun",
    "StrategyPreset",
    "Tag",
    "TagAnnotation",
    "TagSample",
    "Video",
    "WorkerHeartbeat",
]
