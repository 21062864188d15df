"""Pages outside any tenant for clearing staff who serve several tenants.

Include from sam/urls.py with: path("", include("receiving.account_urls")),
"""
from __future__ import annotations

from django.urls import path

from receiving import account_views

urlpatterns = [
    path("receiving/my-queues/", account_views.my_queues, name="receiving-my-queues"),
]
