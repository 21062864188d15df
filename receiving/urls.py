from __future__ import annotations

from django.urls import path

from receiving import views

app_name = "receiving"

urlpatterns = [
    path("", views.QueueView.as_view(), name="queue"),
    path("summary/", views.QueueSummaryView.as_view(), name="queue-summary"),
    path("lines/<int:pk>/fix/", views.LineFixView.as_view(), name="line-fix"),
    path("lines/<int:pk>/reject/", views.LineRejectView.as_view(), name="line-reject"),
    path("alias/", views.AliasMapView.as_view(), name="alias-map"),
    path("cost-center/", views.BulkCostCenterView.as_view(), name="bulk-cost-center"),
    path("bulk/", views.BulkView.as_view(), name="bulk"),
    path("entry/", views.EntryView.as_view(), name="entry"),
    path("revalidate/", views.RevalidateView.as_view(), name="revalidate"),
    path("skus/", views.SkuSuggestView.as_view(), name="sku-suggest"),
    path("batches/", views.BatchListView.as_view(), name="batches"),
    path("batches/<int:pk>/undo/", views.BatchUndoView.as_view(), name="batch-undo"),
    path("batches/<int:pk>/file/", views.BatchFileView.as_view(), name="batch-file"),
    path("upload/", views.UploadView.as_view(), name="upload"),
    path("upload/map/", views.UploadMapView.as_view(), name="upload-map"),
    path("upload/jobs/<int:pk>/", views.UploadJobView.as_view(), name="upload-job"),
    path("rate/", views.RateView.as_view(), name="rate"),
    path("settings/", views.SettingsView.as_view(), name="settings"),
    path("tokens/", views.TokensView.as_view(), name="tokens"),
    path("tokens/<int:pk>/revoke/", views.TokenRevokeView.as_view(), name="token-revoke"),
]
