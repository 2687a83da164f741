"""Dataset pages: the list, creating one from an upload (any number of images, sub-folders
kept) or a server folder — imported by a background job whose page shows live progress — and
deleting one (owner or staff)."""

from __future__ import annotations

import shutil
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.db.models import Count, IntegerField, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpResponse
from django.shortcuts import redirect, render

from curation.access import datasets_visible_to, get_dataset_for_user
from curation.browse.selectors import sample_counts
from curation.datasets.delete import dataset_delete_start
from curation.datasets.forms import DatasetCreateForm
from curation.datasets.services import (
    DatasetError,
    dataset_create,
    dataset_media_dir,
)
from curation.datasets.uploads import (
    side_files_saver,
    uploaded_images_save,
)
from curation.jobs.services import JobError, import_job_start
from curation.models import Job, Sample, SelectionRun, Tag
from curation.storage.paths import UnsafePathError
from curation.storage.roots import import_roots_for_user
from curation.web.pages import HtmxRequest, render_page


def _count(model: Any) -> Coalesce:
    rows = (
        model.objects.filter(dataset=OuterRef("pk"))
        .order_by()
        .values("dataset")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(rows, output_field=IntegerField()), 0)


@login_required
def dataset_list(request: HtmxRequest) -> HttpResponse:
    cover = Sample.objects.filter(dataset=OuterRef("pk")).order_by("pk").values("pk")[:1]
    datasets = (
        datasets_visible_to(request.user)
        .select_related("owner", "team")
        .annotate(
            tag_count=_count(Tag),
            run_count=_count(SelectionRun),
            cover_id=Subquery(cover),
        )
        .order_by("name")
    )
    datasets_list = list(datasets)
    counts = sample_counts([d.pk for d in datasets_list])
    for dataset in datasets_list:
        dataset.sample_count = counts[dataset.pk]  # type: ignore[attr-defined]
    return render(request, "curation/dataset_list.html", {"datasets": datasets_list})


@login_required
def dataset_create_view(request: HtmxRequest) -> HttpResponse:
    form = DatasetCreateForm(request.POST or None, request.FILES or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            return _create_and_import(request, data, data["images"], data["image_names"])
        except UnsafePathError as exc:
            form.add_error(None, str(exc))
        except DatasetError as exc:
            form.add_error("name", str(exc))
    return render(
        request,
        "curation/dataset_create.html",
        {"form": form, "import_roots": import_roots_for_user(request.user)},
        status=400 if form.errors else 200,
    )


def _create_and_import(
    request: HtmxRequest, data: dict[str, Any], images: list[Any], names: list[str]
) -> HttpResponse:
    """Create the dataset and its import job in one transaction; the job deletes the dataset
    again if the import fails. Uploaded images are moved into the dataset's folder."""
    extra = {k: data[k] for k in ("embeddings", "metadata", "annotations") if data.get(k)}
    dataset = None
    try:
        with transaction.atomic():
            dataset = dataset_create(
                name=data["name"],
                owner=request.user,
                description=data["description"],
                team=data["team"],
            )
            options: dict[str, Any]
            if data["source"] == "upload":
                image_dir = uploaded_images_save(dataset=dataset, images=images, names=names)
                options = {"images": str(image_dir), "restrict_to_import_roots": False}
            else:
                options = {"images": data["folder"], "restrict_to_import_roots": True}
            for rate in ("video_every", "video_fps"):  # videos in the folder (default 1 fps)
                if data.get(rate) is not None:
                    options[rate] = data[rate]
            job = import_job_start(
                dataset=dataset,
                user=request.user,
                options=options,
                save_files=side_files_saver(extra),
                creates_dataset=True,
            )
    except BaseException:
        if dataset is not None:
            shutil.rmtree(dataset_media_dir(dataset.pk), ignore_errors=True)
        raise
    messages.success(
        request, f"Dataset {dataset.name!r} created; the import runs in the background."
    )
    return redirect("job-detail", job.pk)


@login_required
def dataset_import_view(request: HtmxRequest, dataset_id: int) -> HttpResponse:
    """The dataset's latest import job (its page), or a note that there is none."""
    dataset = get_dataset_for_user(request.user, dataset_id)
    job = Job.objects.filter(dataset=dataset, kind=Job.Kind.IMPORT).order_by("-pk").first()
    if job is None:
        return render(request, "curation/dataset_import.html", {"dataset": dataset})
    return render_page(request, "curation/job_detail.html", {"job": job}, partial="progress")


@login_required
def dataset_delete_view(request: HtmxRequest, dataset_id: int) -> HttpResponse:
    """Confirm, then start the background delete job and show its page (owner or staff). A
    dataset a cancelled or failed job left hidden can be deleted again from here."""
    dataset = get_dataset_for_user(request.user, dataset_id, delete=True)
    active = Job.objects.filter(
        dataset=dataset, kind=Job.Kind.DELETE, status__in=[Job.Status.QUEUED, Job.Status.RUNNING]
    ).first()
    if active is not None:
        return redirect("job-detail", active.pk)
    if request.method == "POST":
        try:
            job = dataset_delete_start(dataset=dataset, user=request.user)
        except JobError as exc:
            messages.error(request, str(exc))
            return redirect("dataset-list")
        messages.success(request, f"Deleting dataset {dataset.name!r} in the background.")
        return redirect("job-detail", job.pk)
    counts = {
        "samples": Sample.objects.filter(dataset=dataset).count(),
        "tags": Tag.objects.filter(dataset=dataset).count(),
        "runs": SelectionRun.objects.filter(dataset=dataset).count(),
    }
    last = Job.objects.filter(dataset=dataset, kind=Job.Kind.DELETE).order_by("-pk").first()
    return render(
        request,
        "curation/dataset_delete.html",
        {"dataset": dataset, "counts": counts, "last_job": last},
    )
