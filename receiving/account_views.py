from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from receiving.selectors import my_queues as my_queues_selector
from receiving.validation import REASONS


@login_required
def my_queues(request: HttpRequest) -> HttpResponse:
    """Waiting lines per tenant and reason, for every tenant where the user may see receiving."""
    rows = my_queues_selector(user=request.user)
    for row in rows:
        row["reasons"] = [(code, n, REASONS.get(code, ("", code))[1]) for code, n in row["reasons"]]
    response = TemplateResponse(request, "receiving/my_queues.html", {"rows": rows})
    response.render()
    return response
