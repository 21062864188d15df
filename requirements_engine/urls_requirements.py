"""Requirement pages of the ``requirements`` namespace (the balance adds its own in urls_balance)."""
from django.urls import path

from requirements_engine import views_requirements as views

urlpatterns = [
    path("", views.RequirementList.as_view(), name="list"),
    path("<int:pk>/", views.RequirementDetail.as_view(), name="detail"),
    path("<int:pk>/edit/", views.ManualRequirementEdit.as_view(), name="edit"),
    path("new/", views.ManualRequirementCreate.as_view(), name="create"),
    path("confirm/", views.ConfirmationQueue.as_view(), name="queue"),
    path("data-quality/", views.DataQualityList.as_view(), name="data-quality"),
    path("recompute/", views.RecomputeView.as_view(), name="recompute"),
]
