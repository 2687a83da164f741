"""Dataset pages: the list, creating one from an upload or a server folder (imported in the
background, with a polled progress fragment), and deleting one (owner or staff)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import Group
from django.db import transaction
from django.db.models import Count, IntegerField, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.http import HttpResponse
from django.shortcuts import redirect, render

from curation.access import datasets_visible_to, get_dataset_for_user
from curation.models import Sample, SelectionRun, Tag
from curation.selectors_browse import sample_counts
from curation.services.dataset_uploads import import_status_read, import_status_write, uploads_save
from curation.services.datasets import DatasetError, dataset_create, dataset_delete
from curation.views.common import HtmxRequest


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

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("source") == "folder":
            if not settings.CURATION_IMPORT_ROOTS:
                raise forms.ValidationError(
                    "Importing server folders is off: set CURATION_IMPORT_ROOTS, or upload files."
                )
            if not data.get("folder"):
                self.add_error("folder", "Name the folder to import.")
        return data


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
                return _create_and_import(request, data, images)
            except DatasetError as exc:
                form.add_error("name", str(exc))
    return render(
        request,
        "curation/dataset_create.html",
        {"form": form, "import_roots": settings.CURATION_IMPORT_ROOTS},
        status=400 if form.errors else 200,
    )


def _create_and_import(
    request: HtmxRequest, data: dict[str, Any], images: list[Any]
) -> HttpResponse:
    from curation.tasks_imports import dataset_import_task

    with transaction.atomic():
        dataset = dataset_create(
            name=data["name"],
            owner=request.user,
            description=data["description"],
            team=data["team"],
        )
        options: dict[str, Any]
        if data["source"] == "upload":
            extra = {k: data[k] for k in ("embeddings", "metadata", "annotations") if data.get(k)}
            options = dict(uploads_save(dataset=dataset, images=images, extra=extra))
            options["restrict_to_import_roots"] = False  # our own media folder
        else:
            options = {"images": data["folder"], "restrict_to_import_roots": True}
        import_status_write(dataset.pk, state="queued", stage="", done=0, total=0)
        user_id = request.user.pk
        transaction.on_commit(lambda: dataset_import_task.enqueue(dataset.pk, options, user_id))
    messages.success(
        request, f"Dataset {dataset.name!r} created; the import runs in the background."
    )
    return redirect("dataset-import", dataset.pk)


@login_required
def dataset_import_view(request: HtmxRequest, dataset_id: int) -> HttpResponse:
    dataset = get_dataset_for_user(request.user, dataset_id)
    status = import_status_read(dataset.pk) or {"state": "done", "summary": []}
    context = {
        "dataset": dataset,
        "status": status,
        "running": status.get("state") in ("queued", "running"),
        "percent": int(100 * status.get("done", 0) / status["total"]) if status.get("total") else 0,
    }
    template = "curation/dataset_import.html"
    if request.htmx:
        template += "#import-progress"
    return render(request, template, context)


@login_required
def dataset_delete_view(request: HtmxRequest, dataset_id: int) -> HttpResponse:
    dataset = get_dataset_for_user(request.user, dataset_id, delete=True)
    if request.method == "POST":
        name = dataset.name
        dataset_delete(dataset=dataset)
        messages.success(request, f"Dataset {name!r} and its files were deleted.")
        return redirect("dataset-list")
    counts = {
        "samples": Sample.objects.filter(dataset=dataset).count(),
        "tags": Tag.objects.filter(dataset=dataset).count(),
        "runs": SelectionRun.objects.filter(dataset=dataset).count(),
    }
    return render(request, "curation/dataset_delete.html", {"dataset": dataset, "counts": counts})
