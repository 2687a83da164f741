"""The demo dataset: scikit-learn's 1,797 handwritten digits rendered to PNG files, with ground
truth, a prediction task (a classifier trained on half of them) and a PCA embedding space.

Everything comes from files scikit-learn ships; nothing is downloaded.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from django.db import transaction
from PIL import Image

from curation.browse.maps import projection_schedule
from curation.datasets.services import dataset_create, dataset_media_dir
from curation.imports.pixel_metadata import image_metadata
from curation.imports.scores import classification_scores
from curation.models import Annotation, AnnotationTask, Dataset, Sample, Score
from curation.storage.embeddings import embedding_space_store

DEMO_NAME = "digits-demo"
DEMO_DESCRIPTION = (
    "The 1,797 8x8 handwritten digits that ship with scikit-learn, rendered to 64x64 PNG files; "
    "ground truth digit labels, a 'digit-classifier' prediction task (logistic regression "
    "trained on the even-numbered images) and a 32-dimensional PCA embedding of the pixels."
)
PREDICTION_TASK = "digit-classifier"
IMAGE_SIZE = 64


def _render(pixels: np.ndarray) -> Image.Image:
    """An 8x8 digit (0..16, ink high) as a dark-on-light greyscale image."""
    grey = (255 - np.clip(pixels, 0, 16) * (255 / 16)).astype(np.uint8).reshape(8, 8)
    return Image.fromarray(grey, mode="L").resize(
        (IMAGE_SIZE, IMAGE_SIZE), Image.Resampling.BICUBIC
    )


def demo_dataset_create(*, owner: Any, name: str = DEMO_NAME) -> Dataset | None:
    """Create the demo dataset unless one with ``name`` exists (then return None)."""
    from sklearn.datasets import load_digits
    from sklearn.decomposition import PCA
    from sklearn.linear_model import LogisticRegression

    if Dataset.objects.filter(name=name).exists():
        return None
    digits = load_digits()
    images: np.ndarray = digits.data
    targets: np.ndarray = digits.target
    categories = [str(i) for i in range(10)]

    train = np.arange(len(images)) % 2 == 0
    classifier = LogisticRegression(max_iter=2000)
    classifier.fit(images[train] / 16.0, targets[train])
    probabilities = classifier.predict_proba(images / 16.0)
    scores = classification_scores(probabilities)
    embedding = PCA(n_components=32, random_state=0).fit_transform(images / 16.0)

    with transaction.atomic():
        dataset = dataset_create(name=name, owner=owner, description=DEMO_DESCRIPTION)
        folder = dataset_media_dir(dataset.pk) / "images"
        folder.mkdir(parents=True, exist_ok=True)
        dataset.image_root = str(folder)
        dataset.save(update_fields=["image_root"])
        samples = []
        for index, pixels in enumerate(images):
            file_name = f"digit_{index:04d}.png"
            path: Path = folder / file_name
            image = _render(pixels)
            image.save(path, format="PNG", optimize=True)
            metadata = image_metadata(image, path.stat().st_size)
            metadata["split"] = "train" if train[index] else "test"
            samples.append(
                Sample(
                    dataset=dataset,
                    file_name=file_name,
                    width=IMAGE_SIZE,
                    height=IMAGE_SIZE,
                    size_bytes=metadata["lightly.sizeInBytes"],
                    metadata=metadata,
                )
            )
        samples = Sample.objects.bulk_create(samples, batch_size=1000)
        ground_truth = AnnotationTask.objects.create(
            dataset=dataset,
            name=AnnotationTask.GROUND_TRUTH,
            kind=AnnotationTask.Kind.CLASSIFICATION,
            categories=categories,
        )
        predictions = AnnotationTask.objects.create(
            dataset=dataset,
            name=PREDICTION_TASK,
            kind=AnnotationTask.Kind.CLASSIFICATION,
            categories=categories,
        )
        annotations: list[Annotation] = []
        score_rows: list[Score] = []
        for sample, target, probs in zip(samples, targets, probabilities, strict=True):
            annotations.append(Annotation(sample=sample, task=ground_truth, label=str(target)))
            best = int(np.argmax(probs))
            annotations.append(
                Annotation(
                    sample=sample,
                    task=predictions,
                    label=categories[best],
                    score=float(probs[best]),
                    probabilities=[round(float(p), 6) for p in probs],
                )
            )
        for score_name, values in scores.items():
            score_rows.extend(
                Score(sample=s, task=PREDICTION_TASK, name=score_name, value=float(v))
                for s, v in zip(samples, values, strict=True)
            )
        Annotation.objects.bulk_create(annotations, batch_size=2000)
        Score.objects.bulk_create(score_rows, batch_size=2000)
        space = embedding_space_store(
            dataset=dataset,
            name="default",
            matrix=embedding.astype(np.float32),
            sample_ids=np.array([s.pk for s in samples], dtype=np.int64),
            normalize=True,
        )
    projection_schedule(space=space)  # after the commit: the map is ready on the first visit
    return dataset
