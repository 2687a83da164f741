"""The dataset's embeddings page: its spaces, and "Compute embeddings" with a registered model.

GET lists the spaces (size, model, whether text search works) and the form; POST starts an
embed job (``compute.embed_job_start``) and redirects to the job's page, where progress arrives
over the websocket and the job can be cancelled. Team members may compute; outsiders get 404.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from curation.access import get_dataset_for_user
from curation.datasets.services import DatasetError
from curation.embeddings.compute import EmbedError, embed_job_start, embedding_models_for_user
from curation.embeddings.forms import ComputeEmbeddingsForm
from curation.embeddings.text_search import has_text_model
from curation.models import EmbeddingSpace
from curation.web.pages import HtmxRequest


@login_required
@require_http_methods(["GET", "POST"])
def dataset_embeddings(request: HtmxRequest, dataset_id: int) -> HttpResponse:
    dataset = get_dataset_for_user(request.user, dataset_id)
    models = embedding_models_for_user(request.user).order_by("name")
    status = 200
    if request.method == "POST":
        form = ComputeEmbeddingsForm(request.POST, models=models)
        if form.is_valid():
            data = form.cleaned_data
            try:
                job = embed_job_start(
                    dataset=dataset,
                    user=request.user,
                    name=data["name"],
                    model=data["model"],
                    batch_size=data["batch_size"],
                )
            except (EmbedError, DatasetError) as exc:
                form.add_error(None, str(exc))
            else:
                return HttpResponseRedirect(reverse("job-detail", args=[job.pk]))
        status = 400
    else:
        form = ComputeEmbeddingsForm(models=models)
    spaces = list(EmbeddingSpace.objects.filter(dataset=dataset).order_by("name"))
    rows = [(s, has_text_model(s), (s.source or {}).get("model", "")) for s in spaces]
    context = {"dataset": dataset, "form": form, "spaces": rows, "has_models": models.exists()}
    return render(request, "curation/embeddings.html", context, status=status)
