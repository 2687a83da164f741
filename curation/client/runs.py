"""Runs and jobs seen from the client: start, wait with a progress bar, cancel, results.

A selection ``Run`` is the server's selection run (visible in the web app with live progress);
``wait()`` polls ``/api/runs/{id}/`` until it ends and raises ``RunFailedError`` with the run's
own sentence when it failed or was cancelled. ``Job`` is the same for background jobs (imports,
metadata computations). Ctrl-C while waiting cancels the run or job, then re-raises.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from curation.client.errors import JobFailedError, RunFailedError
from curation.client.progress import ProgressBar, progress_enabled
from curation.client.samples import Sample, thumbnail_grid

if TYPE_CHECKING:
    from curation.client.connection import Connection
    from curation.client.datasets import ImageDataset

FINAL = ("succeeded", "failed", "cancelled")
POLL_SECONDS = 0.2
POLL_MAX_SECONDS = 2.0


def _sleep(waited: float) -> float:
    pause = min(POLL_MAX_SECONDS, POLL_SECONDS * (1 + waited / 5))
    time.sleep(pause)
    return waited + pause


class Job:
    """A background job on the server (an import, a metadata computation)."""

    def __init__(self, connection: Connection, job_id: int, label: str = "Job"):
        self.connection = connection
        self.id = job_id
        self.label = label
        self.data: dict[str, Any] = {}

    def __repr__(self) -> str:
        return f"<Job {self.id} {self.data.get('status', '?')}>"

    def refresh(self) -> dict[str, Any]:
        self.data = self.connection.get(f"jobs/{self.id}/")
        return self.data

    @property
    def status(self) -> str:
        return str(self.refresh()["status"])

    def cancel(self) -> None:
        self.data = self.connection.post(f"jobs/{self.id}/cancel/")

    def wait(self, *, show_progress: bool | None = None) -> dict[str, Any]:
        """Block until the job ends; its summary, or ``JobFailedError`` with its sentence."""
        waited = 0.0
        with ProgressBar(self.label, enabled=progress_enabled(show_progress)) as bar:
            try:
                while True:
                    data = self.refresh()
                    bar.update(
                        int(data.get("done") or 0),
                        int(data.get("total") or 0),
                        str(data.get("stage") or ""),
                    )
                    if data["status"] in FINAL:
                        break
                    waited = _sleep(waited)
            except KeyboardInterrupt:
                self.cancel()
                raise
        if data["status"] != "succeeded":
            message = data.get("error") or data.get("message") or f"Job {self.id} {data['status']}."
            raise JobFailedError(str(message), job_id=self.id, status_text=data["status"])
        return dict(data.get("summary") or {})


class Run:
    """A selection run; ``wait()`` for it, then read ``picks`` and ``explanation``."""

    def __init__(self, dataset: ImageDataset, data: dict[str, Any]):
        self.dataset = dataset
        self.id = int(data["id"])
        self.data = data
        self._result: dict[str, Any] | None = None

    def __repr__(self) -> str:
        return f"<Run {self.id} {self.data.get('status')} tag={self.tag_name!r}>"

    @property
    def connection(self) -> Connection:
        return self.dataset.connection

    @property
    def status(self) -> str:
        return str(self.data["status"])

    @property
    def tag_name(self) -> str:
        return str(self.data.get("result_tag_name", ""))

    def refresh(self) -> dict[str, Any]:
        self.data = self.connection.get(f"runs/{self.id}/")
        return self.data

    def cancel(self) -> None:
        """Cancel a queued or running run (no tag is written)."""
        self.data = self.connection.post(f"runs/{self.id}/cancel/")

    def wait(self, *, show_progress: bool | None = None) -> Run:
        """Block until the run ends; raise ``RunFailedError`` unless it succeeded."""
        waited = 0.0
        label = f"Selecting {self.tag_name!r}"
        with ProgressBar(label, enabled=progress_enabled(show_progress)) as bar:
            try:
                while self.data["status"] not in FINAL:
                    waited = _sleep(waited)
                    data = self.refresh()
                    bar.update(int(data.get("picks_done") or 0), int(data.get("requested_n") or 0))
            except KeyboardInterrupt:
                self.cancel()
                raise
            bar.update(int(self.data.get("picks_done") or 0))
        if self.data["status"] != "succeeded":
            message = self.data.get("error") or self.data.get("message") or "The run stopped."
            raise RunFailedError(str(message), run_id=self.id, status_text=self.status)
        return self

    def result(self) -> dict[str, Any]:
        """The server's result: picks in order with file names and per-strategy terms."""
        if self._result is None:
            self._result = self.connection.get(f"runs/{self.id}/result/")
        return self._result

    @property
    def picks(self) -> list[int]:
        """Sample ids in pick order (pre-selected samples first)."""
        return [int(p["sample_id"]) for p in self.result()["picks"]]

    @property
    def explanation(self) -> list[dict[str, Any]]:
        """Per pick: rank, sample_id, file_name and each strategy's gain (``terms``)."""
        return list(self.result()["picks"])

    @property
    def message(self) -> str:
        return str(self.data.get("message") or "")

    def keep_first(self, k: int, tag: str | None = None) -> str:
        """A new tag with the first ``k`` picks (no re-run); returns its name. For a run with
        ``selected_sequence_length`` L, ``k`` is a multiple of L (whole sequences); another k
        raises ``BadRequestError`` with the server's sentence naming the nearest valid values."""
        body: dict[str, Any] = {"k": k}
        if tag is not None:
            body["tag_name"] = tag
        return str(self.connection.post(f"runs/{self.id}/keep-first/", json=body)["name"])

    def samples(self) -> list[Sample]:
        """The picked samples, in pick order."""
        by_id = {s.id: s for s in self.dataset.tag_query(self.tag_name)}
        return [by_id[i] for i in self.picks if i in by_id]

    def _repr_html_(self) -> str:
        head = f"<p>Run {self.id}: {self.status}, tag {self.tag_name!r}</p>"
        if self.status != "succeeded":
            return head
        samples = self.samples()
        return head + thumbnail_grid(samples[:48], more=max(0, len(samples) - 48))
