"""The push API for procurement systems, included under /api/ by sam/urls.py."""
from __future__ import annotations

from django.urls import path

from receiving import api

urlpatterns = [
    path("t/<slug:tenant>/receiving/lines/", api.lines, name="receiving-api-lines"),
    path("t/<slug:tenant>/receiving/lines/<int:pk>/", api.line_detail, name="receiving-api-line"),
    path("schema/receiving.json", api.schema, name="receiving-api-schema"),
]
