"""Find similar: the buttons of the grid (checked samples) and of the sample page.

``POST /datasets/<id>/similar/`` with ``sample=ID`` (repeated), ``space=NAME`` and ``filter``
redirects (303) to the browser ranked nearest first to those samples (``similar_to=`` in the
filter language, ``curation.filters_similar``), keeping the other conditions of ``filter``. The
grid's button posts its tag form there (``formaction``: the checked samples, no token in a URL,
works without JavaScript); nothing is written. The sample page links to the ranked URL itself.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, HttpResponseRedirect
from django.views.decorators.http import require_POST

from curation.access import get_dataset_for_user
from curation.browse.forms import FindSimilarForm
from curation.browse.links import browser_url
from curation.filters import FilterError, SampleFilter
from curation.filters_similar import similar_filter
from curation.web.errors import bad_request
from curation.web.pages import HtmxRequest


@login_required
@require_POST
def find_similar(request: HtmxRequest, dataset_id: int) -> HttpResponse:
    dataset = get_dataset_for_user(request.user, dataset_id)
    form = FindSimilarForm(request.POST)
    if not form.is_valid():
        return bad_request(request, form.first_error())
    data = form.cleaned_data
    try:
        base = SampleFilter.parse(data.get("filter") or "")
    except FilterError:
        base = SampleFilter()
    ranked = similar_filter(base, data["samples"], data.get("space") or "")
    return HttpResponseRedirect(browser_url(dataset, ranked), status=303)
