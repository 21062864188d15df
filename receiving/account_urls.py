"""Pages outside any tenant for clearing staff who serve several tenants.

Include from sam/urls.py with: path("", include("receiving.account_urls")),
"""
from __future__ import annotations

from django.urls import path

from receiving import account_views

urlpatterns = [
    path("receiving/my-queues/", account_views.my_queues, name="receiving-my-queues"),
    path("receiving/workspace/", account_views.WorkspacePageView.as_view(), name="receiving-workspace"),
    path("receiving/workspace/summary/", account_views.WorkspaceSummaryView.as_view(),
         name="receiving-ws-summary"),
    path("receiving/workspace/lines/<int:pk>/fix/", account_views.WorkspaceLineFixView.as_view(),
         name="receiving-ws-line-fix"),
    path("receiving/workspace/lines/<int:pk>/reject/", account_views.WorkspaceLineRejectView.as_view(),
         name="receiving-ws-line-reject"),
    path("receiving/workspace/lines/<int:pk>/alias/", account_views.WorkspaceAliasView.as_view(),
         name="receiving-ws-alias"),
    path("receiving/workspace/bulk/", account_views.WorkspaceBulkView.as_view(), name="receiving-ws-bulk"),
    path("receiving/workspace/throughput/", account_views.ThroughputView.as_view(), name="receiving-throughput"),
]
