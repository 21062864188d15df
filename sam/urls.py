from __future__ import annotations

from importlib import import_module

from django.contrib.auth import views as auth_views
from django.urls import include, path

from sam import views
from sam.throttle import spray_guard

tenant_patterns = [
    path("", views.DashboardView.as_view(), name="dashboard"),
    path("members/", views.MembersView.as_view(), name="members"),
    path("members/<int:pk>/", views.MemberChangeView.as_view(), name="member-change"),
    path("members/<int:pk>/remove/", views.MemberRemoveView.as_view(), name="member-remove"),
    path("members/invitations/<int:pk>/revoke/", views.InvitationRevokeView.as_view(), name="invitation-revoke"),
    path("settings/", views.SettingsView.as_view(), name="settings"),
    path("search/", views.SearchView.as_view(), name="search"),
    path("audit/", views.AuditView.as_view(), name="audit"),
    path("jobs/<int:pk>/", views.JobView.as_view(), name="job"),
]

# Each app contributes ``urls.py`` (tenant pages, namespaced) and optionally ``api_urls.py``.
APP_PREFIXES = {
    "catalog": "catalog/",
    "receiving": "receiving/",
    "entitlements": "entitlements/",
    "inventory": "inventory/",
    "requirements_engine": "requirements/",
}
api_patterns = []
for app, prefix in APP_PREFIXES.items():
    try:
        module = import_module(f"{app}.urls")
    except ModuleNotFoundError as exc:
        if exc.name != f"{app}.urls":
            raise
        continue
    tenant_patterns.append(path(prefix, include((module.urlpatterns, getattr(module, "app_name", app)))))
    extra = getattr(module, "tenant_root_patterns", [])
    tenant_patterns.extend(extra)
    try:
        api = import_module(f"{app}.api_urls")
        api_patterns.extend(api.urlpatterns)
    except ModuleNotFoundError as exc:
        if exc.name != f"{app}.api_urls":
            raise

try:
    tenant_patterns.extend(import_module("sam.import_views").urlpatterns)
except ModuleNotFoundError as exc:
    if exc.name != "sam.import_views":
        raise

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/login/", spray_guard(auth_views.LoginView.as_view(redirect_authenticated_user=True)),
         name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/password/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path("accounts/password/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("invitations/<str:token>/", views.InvitationAcceptView.as_view(), name="invitation-accept"),
    path("staff/tenants/new/", views.StaffTenantCreateView.as_view(), name="staff-tenant-create"),
    path("t/<slug:tenant>/", include(tenant_patterns)),
    path("api/", include(api_patterns)),
    path("", include("receiving.account_urls")),
]
# MEDIA_URL is never routed, not even under DEBUG: stored files (contract documents, batch files,
# uploads) are served only by the tenant-scoped download views that check membership and role.
