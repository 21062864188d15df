"""Balance pages (namespace ``requirements``, mounted under /t/<slug>/requirements/)."""
from django.urls import path

from requirements_engine import views_balance as v

urlpatterns: list = [
    path("balance/", v.BalanceView.as_view(), name="balance"),
    # A position by what it is (product × license model; ``?as_of=`` for a day): stable across recomputes.
    path("balance/position/<int:product>/<path:model>/", v.PositionView.as_view(), name="balance-position-of"),
    # Old links by balance row id: redirect to the stable address while the row exists.
    path("balance/<int:pk>/", v.PositionByIdView.as_view(), name="balance-position"),
    path("balance/audit-pack/", v.AuditPackView.as_view(), name="balance-audit-pack"),
    path("balance/dashboard/", v.DashboardView.as_view(), name="balance-dashboard"),
    path("balance/changes/", v.ChangesView.as_view(), name="balance-changes"),
    path("reconciliation/", v.ReconciliationView.as_view(), name="reconciliation"),
    path("exemptions/", v.ExemptionsView.as_view(), name="exemptions"),
    path("exemptions/<int:pk>/revoke/", v.ExemptionRevokeView.as_view(), name="exemption-revoke"),
]
