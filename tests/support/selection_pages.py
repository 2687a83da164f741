"""A small dataset with every kind of selection input, for the selection pages' tests."""

from __future__ import annotations

import numpy as np

from curation.models import Annotation, AnnotationTask, Dataset, Sample, Score
from curation.storage.embeddings import embedding_space_store
from curation.tags.services import tag_create


def populate(dataset: Dataset, n: int = 40) -> list[Sample]:
    """n samples with numeric and string metadata, a default embedding space, an entropy score,
    ground truth + a 'clf' prediction task (cat/dog/bird), and a 'query' tag of 3 samples."""
    rng = np.random.default_rng(1)
    samples = Sample.objects.bulk_create(
        [
            Sample(
                dataset=dataset,
                file_name=f"img_{i:03d}.png",
                width=64,
                height=64,
                metadata={
                    "lightly.sharpness": float(rng.uniform(0, 100)),
                    "split": "train" if i % 2 else "test",
                    "weather": {"description": ["sunny", "cloudy"][i % 2]},
                },
            )
            for i in range(n)
        ]
    )
    classes = ["cat", "dog", "bird"]
    gt = AnnotationTask.objects.create(
        dataset=dataset, name="ground_truth", kind="classification", categories=classes
    )
    clf = AnnotationTask.objects.create(
        dataset=dataset, name="clf", kind="classification", categories=classes
    )
    annotations = []
    for i, sample in enumerate(samples):
        probs = rng.dirichlet(np.ones(3))
        annotations.append(Annotation(sample=sample, task=gt, label=classes[i % 3]))
        annotations.append(
            Annotation(
                sample=sample,
                task=clf,
                label=classes[int(np.argmax(probs))],
                score=float(probs.max()),
                probabilities=[float(p) for p in probs],
            )
        )
    Annotation.objects.bulk_create(annotations)
    Score.objects.bulk_create(
        [
            Score(sample=s, task="clf", name="uncertainty_entropy", value=float(rng.uniform()))
            for s in samples
        ]
    )
    embedding_space_store(
        dataset=dataset,
        name="default",
        matrix=rng.normal(size=(n, 8)).astype(np.float32),
        sample_ids=np.array([s.pk for s in samples], dtype=np.int64),
        normalize=True,
    )
    tag_create(dataset=dataset, name="query", sample_ids=[s.pk for s in samples[:3]])
    return samples
