from __future__ import annotations

from django.urls import path

from entitlements import views

app_name = "entitlements"

urlpatterns = [
    path("", views.EntitlementList.as_view(), name="list"),
    path("bulk/", views.EntitlementBulkView.as_view(), name="bulk"),
    path("new/license/", views.EntitlementCreateView.as_view(), {"kind": "license"}, name="new-license"),
    path("new/maintenance/", views.EntitlementCreateView.as_view(), {"kind": "maintenance"}, name="new-maintenance"),
    path("<int:pk>/", views.EntitlementEditView.as_view(), name="edit"),
    path("<int:pk>/action/", views.EntitlementActionView.as_view(), name="action"),
    path("compute/", views.ComputeView.as_view(), name="compute"),
    path("autocomplete/products/", views.ProductAutocomplete.as_view(), name="autocomplete-products"),
    path("autocomplete/skus/", views.SkuAutocomplete.as_view(), name="autocomplete-skus"),
    path("agreements/", views.ContractList.as_view(), name="contracts"),
    path("agreements/new/", views.ContractCreateView.as_view(), name="contract-new"),
    path("agreements/<int:pk>/", views.ContractDetailView.as_view(), name="contract"),
    path("documents/<int:pk>/", views.DocumentDownloadView.as_view(), name="document"),
    path("repositories/", views.RepositoriesView.as_view(), name="repositories"),
    path("repositories/<int:pk>/delete/", views.RepositoryDeleteView.as_view(), name="repository-delete"),
    path("renewals/", views.RenewalsView.as_view(), name="renewals"),
]
