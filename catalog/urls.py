from __future__ import annotations

from django.urls import path

from catalog import views

app_name = "catalog"

urlpatterns = [
    path("", views.ProductList.as_view(), name="products"),
    path("products/<int:pk>/", views.ProductDetail.as_view(), name="product"),
    path("skus/", views.SkuList.as_view(), name="skus"),
    path("license-models/", views.LicenseModelList.as_view(), name="license-models"),
    path("license-models/detail/", views.LicenseModelDetail.as_view(), name="license-model"),
    path("fingerprints/", views.FingerprintQueueMoved.as_view(), name="fingerprints"),
    path("autocomplete/products/", views.ProductAutocomplete.as_view(), name="autocomplete-products"),
    path("autocomplete/skus/", views.SkuAutocomplete.as_view(), name="autocomplete-skus"),
    path("amendments/", views.AmendmentList.as_view(), name="amendments"),
    path("amendments/sku/new/", views.SkuAmendment.as_view(), name="amend-sku-new"),
    path("amendments/sku/<int:pk>/", views.SkuAmendment.as_view(), name="amend-sku"),
    path("amendments/alias/new/", views.AliasAmendment.as_view(), name="amend-alias-new"),
    path("amendments/alias/<int:pk>/", views.AliasAmendment.as_view(), name="amend-alias"),
    path("amendments/license-model/new/", views.LicenseModelAmendment.as_view(), name="amend-license-model-new"),
    path("amendments/license-model/<int:pk>/", views.LicenseModelAmendment.as_view(), name="amend-license-model"),
    path("amendments/fingerprint-rule/new/", views.FingerprintRuleAmendment.as_view(),
         name="amend-fingerprint-rule-new"),
    path("amendments/fingerprint-rule/<int:pk>/", views.FingerprintRuleAmendment.as_view(),
         name="amend-fingerprint-rule"),
    path("amendments/product-terms/new/", views.ProductTermsAmendment.as_view(), name="amend-product-terms-new"),
    path("amendments/product-terms/<int:pk>/", views.ProductTermsAmendment.as_view(), name="amend-product-terms"),
    path("amendments/edition-rank/new/", views.EditionRankAmendment.as_view(), name="amend-edition-rank-new"),
    path("amendments/edition-rank/<int:pk>/", views.EditionRankAmendment.as_view(), name="amend-edition-rank"),
    path("amendments/processor/new/", views.ProcessorAmendment.as_view(), name="amend-processor-new"),
    path("amendments/processor/<int:pk>/", views.ProcessorAmendment.as_view(), name="amend-processor"),
    path("amendments/assignment/new/", views.AssignmentAmendment.as_view(), name="amend-assignment-new"),
    path("amendments/assignment/<int:pk>/", views.AssignmentAmendment.as_view(), name="amend-assignment"),
    path("amendments/bundle/new/", views.BundleAmendment.as_view(), name="amend-bundle-new"),
    path("amendments/bundle/<int:pk>/", views.BundleAmendment.as_view(), name="amend-bundle"),
]
