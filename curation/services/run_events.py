"""Pushing a run's progress to every watching browser, after the transaction commits."""

from __future__ import annotations

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction
from django.template.loader import render_to_string

from curation.models import SelectionRun


def run_group_name(run_id: int) -> str:
    return f"run-{run_id}"


def render_run_progress(run: SelectionRun) -> str:
    """The ``#run-progress`` fragment; htmx's ws extension swaps it in place (out of band)."""
    return render_to_string("curation/run_detail.html#progress", {"run": run, "oob": True})


def run_progress_push(run: SelectionRun) -> None:
    """Send the run's progress fragment to its group once the current transaction commits."""

    def send() -> None:
        layer = get_channel_layer()
        if layer is None:
            return
        html = render_run_progress(run)
        async_to_sync(layer.group_send)(
            run_group_name(run.pk), {"type": "run.progress", "html": html}
        )

    transaction.on_commit(send)
