"""Dataset pages: the list, creating one from an upload (any number of images, sub-folders
kept) or a server folder — imported by a background job whose page shows live progress — and
deleting one (owner or staff)."""

from __future__ import annotations

import shutil
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import Group
from django.db import transaction
from django.db.models import Count, IntegerField, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpResponse
from django.shortcuts import redirect, render

from curation.access import datasets_visible_to, get_dataset_for_user
from curation.browse.selectors import sample_counts
from curation.datasets.delete import dataset_delete_start
from curation.datasets.services import (
    DatasetError,
    dataset_create,
    dataset_media_dir,
)
from curation.datasets.uploads import (
    UploadNameError,
    side_files_saver,
    upload_names,
    uploaded_images_save,
)
from curation.imports.common import IngestError, resolve_import_path
from curation.jobs.recover import jobs_recover
from curation.jobs.services import JobError, import_job_start
from curation.models import Job, Sample, SelectionRun, Tag
from curation.storage.paths import UnsafePathError
from curation.storage.roots import any_import_roots, import_roots_for_user
from curation.web.pages import HtmxRequest


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


class DatasetCreateForm(forms.Form):
    name = forms.CharField(max_length=200)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    team = forms.ModelChoiceField(queryset=Group.objects.none(), required=False)
    source = forms.ChoiceField(
        choices=[("upload", "Upload files"), ("folder", "A folder on the server")],
        initial="upload",
        widget=forms.RadioSelect,
    )
    folder = forms.CharField(
        required=False, help_text="Absolute path below one of the server's import roots."
    )
    embeddings = forms.FileField(required=False, help_text="CSV, .npy or Parquet (optional).")
    metadata = forms.FileField(required=False, help_text="CSV or JSON Lines (optional).")
    annotations = forms.FileField(required=False, help_text="COCO JSON (optional).")

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        team_field = self.fields["team"]
        assert isinstance(team_field, forms.ModelChoiceField)
        team_field.queryset = Group.objects.all() if user.is_staff else user.groups.all()
        self.user = user

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("source") == "folder":
            self._clean_folder(data)
        return data

    def _clean_folder(self, data: dict[str, Any]) -> None:
        """The folder must lie below an import root this user may use (and stay inside it)."""
        roots = import_roots_for_user(self.user)
        if not roots:
            raise forms.ValidationError(
                "No server folder is open to you: ask an administrator to give your team an "
                "import root, or upload files."
                if any_import_roots()
                else "Importing server folders is off: set CURATION_IMPORT_ROOTS or add an "
                "import root in the admin, or upload files."
            )
        if not data.get("folder"):
            self.add_error("folder", "Name the folder to import.")
            return
        try:
            resolved = resolve_import_path(data["folder"], roots=roots)
        except IngestError as exc:
            self.add_error("folder", str(exc))
            return
        if not resolved.is_dir():
            self.add_error("folder", f"{data['folder']} is not a folder: name the image folder.")


@login_required
def dataset_create_view(request: HtmxRequest) -> HttpResponse:
    form = DatasetCreateForm(request.POST or None, request.FILES or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        images = request.FILES.getlist("images")
        if data["source"] == "upload" and not images:
            form.add_error(None, "Choose at least one image to upload.")
        else:
            try:
                upload = data["source"] == "upload"
                names = upload_names(images, request.FILES.get("relative_paths")) if upload else []
                return _create_and_import(request, data, images if upload else [], names)
            except (UploadNameError, UnsafePathError) as exc:
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
    jobs_recover()
    job = Job.objects.filter(dataset=dataset, kind=Job.Kind.IMPORT).order_by("-pk").first()
    if job is None:
        return render(request, "curation/dataset_import.html", {"dataset": dataset})
    template = "curation/job_detail.html"
    if request.htmx:
        template += "#progress"
    return render(request, template, {"job": job})


@login_required
def dataset_delete_view(request: HtmxRequest, dataset_id: int) -> HttpResponse:
    """Confirm, then start the background delete job and show its page (owner or staff). A
    dataset a cancelled or failed job left hidden can be deleted again from here."""
    dataset = get_dataset_for_user(request.user, dataset_id, delete=True)
    jobs_recover()
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
