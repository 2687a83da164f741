"""``manage.py embed``: compute an embedding space with an ONNX model, headless.

    python manage.py embed DATASET --model PATH.onnx|NAME --name SPACE [--batch-size N]
        [--text-model TEXT.onnx --tokenizer tokenizer.json]

``--model`` is a path to an image encoder on this machine (the command line is the server's
operator and may read any file) or the name of a model registered in the admin. It runs the
same job as the dataset page and the API (``curation.embeddings.compute``), in this process,
with a progress bar on stderr, and says which device ran the model. Any error exits non-zero
with one line, and nothing is written (an existing space of that name is kept unchanged).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from curation.datasets.services import DatasetError
from curation.embeddings.compute import DEFAULT_BATCH, EmbedError, embed_job_start
from curation.models import Dataset, EmbeddingModel, Job

BAR_WIDTH = 30


class Command(BaseCommand):
    help = (
        "Compute embedding space SPACE of dataset DATASET with an ONNX image model (and, for "
        "text search, its text model and tokenizer.json)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("dataset", help="Dataset name.")
        parser.add_argument(
            "--model", required=True, help="Image encoder: a .onnx path or a registered name."
        )
        parser.add_argument("--name", required=True, help="Name of the embedding space.")
        parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH)
        parser.add_argument("--text-model", help="Text encoder (.onnx) sharing the space.")
        parser.add_argument("--tokenizer", help="The text encoder's tokenizer.json.")

    def handle(self, *args: Any, **options: Any) -> None:
        dataset = Dataset.objects.filter(name=options["dataset"]).first()
        if dataset is None:
            raise CommandError(f"No dataset named {options['dataset']!r}.")
        model, paths = self._model(options)
        self.started = time.monotonic()
        self.shown = False
        try:
            job = embed_job_start(
                dataset=dataset,
                user=None,
                name=options["name"],
                model=model,
                batch_size=options["batch_size"],
                execute="inline",
                progress=self._progress,
                **paths,
            )
        except (EmbedError, DatasetError) as exc:
            raise CommandError(str(exc)) from None
        except KeyboardInterrupt:
            raise CommandError(
                f"Interrupted: the space {options['name']!r} was not changed."
            ) from None
        finally:
            if self.shown:
                self.stderr.write("")
        if job.status == Job.Status.FAILED:
            raise CommandError(f"Embedding job {job.pk} failed: {job.error}")
        if job.status == Job.Status.CANCELLED:
            raise CommandError(f"Embedding job {job.pk} was cancelled: {job.message}")
        self.stdout.write(f"{job.message} ({time.monotonic() - self.started:.1f}s, job {job.pk})")

    def _model(self, options: dict[str, Any]) -> tuple[EmbeddingModel | None, dict[str, Any]]:
        value = options["model"]
        text, tokenizer = options["text_model"], options["tokenizer"]
        registered = EmbeddingModel.objects.filter(name=value).first()
        if registered is not None and not Path(value).is_file():
            if text or tokenizer:
                raise CommandError(
                    f"{value!r} is a registered model: its text model comes with it; drop "
                    "--text-model and --tokenizer."
                )
            return registered, {}
        if not Path(value).is_file():
            raise CommandError(f"{value}: no such model file and no registered model of that name.")
        return None, {"image_model": value, "text_model": text, "tokenizer": tokenizer}

    def _progress(self, job: Job) -> None:
        if job.stage != "embedding" or not job.total:
            return
        filled = round(job.progress * BAR_WIDTH)
        rate = job.done / max(time.monotonic() - self.started, 1e-9)
        self.stderr.write(
            f"\r[{'#' * filled}{'-' * (BAR_WIDTH - filled)}] {job.done}/{job.total} images  "
            f"{rate:.1f}/s   ",
            ending="",
        )
        self.stderr.flush()
        self.shown = True
