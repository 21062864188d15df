"""Tenancy, roles, background jobs, audit and per-user table preferences."""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_scopes import ScopedManager
from django_scopes.manager import DisabledQuerySet

DEFAULT_RELEVANT_STATUSES = ["active", "in use"]


def default_relevant_statuses() -> list[str]:
    return list(DEFAULT_RELEVANT_STATUSES)


def default_tenant_settings() -> dict:
    return {}


class Tenant(models.Model):
    """A customer organisation. Everything it owns carries it directly."""

    slug = models.SlugField(_("slug"), max_length=64, unique=True)
    name = models.CharField(_("name"), max_length=200)
    relevant_device_statuses = models.JSONField(_("relevant device statuses"), default=default_relevant_statuses)
    # Free-form switches that later apps read through typed helpers (e.g. receiving warnings).
    settings = models.JSONField(_("settings"), default=default_tenant_settings, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def setting(self, key: str, default=None):
        return (self.settings or {}).get(key, default)


class Role(models.TextChoices):
    ADMIN = "admin", _("Administrator")
    LICENSE_MANAGER = "license_manager", _("License manager")
    CLEARING = "clearing", _("Clearing staff")
    AUDITOR = "auditor", _("Auditor")


class Membership(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("role"), max_length=32, choices=Role.choices)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "tenant"], name="membership_unique_user_tenant",
                violation_error_message=_("This user is already a member of the tenant."),
            )
        ]
        ordering = ["tenant__name", "user__username"]

    def __str__(self) -> str:
        return f"{self.user} @ {self.tenant} ({self.get_role_display()})"

    def has_perm(self, perm: str) -> bool:
        from sam.permissions import role_has_perm

        return role_has_perm(self.role, perm)


class StrictDisabledQuerySet(DisabledQuerySet):
    """django-scopes' refusal of unscoped queries, closing the paths it leaves open.

    ``DisabledQuerySet`` lets ``exists()``, ``exclude()``, ``in_bulk()``, ``contains()`` and a few
    others through, so ``Device.objects.exists()`` outside a scope would look at every tenant.
    """

    exists = DisabledQuerySet.error
    exclude = DisabledQuerySet.error
    in_bulk = DisabledQuerySet.error
    contains = DisabledQuerySet.error
    explain = DisabledQuerySet.error
    bulk_update = DisabledQuerySet.error
    select_related = DisabledQuerySet.error
    prefetch_related = DisabledQuerySet.error
    distinct = DisabledQuerySet.error
    defer = DisabledQuerySet.error
    extra = DisabledQuerySet.error
    alias = DisabledQuerySet.error
    intersection = DisabledQuerySet.error
    difference = DisabledQuerySet.error
    __repr__ = DisabledQuerySet.error


class TenantManager(type(ScopedManager(tenant="tenant"))):
    """The scoped manager of every tenant table: outside ``scope(tenant=...)`` every read raises."""

    def get_queryset(self):
        queryset = super().get_queryset()
        if type(queryset) is DisabledQuerySet:
            queryset.__class__ = StrictDisabledQuerySet
        return queryset


class TenantModel(models.Model):
    """Base of every tenant-owned table: the tenant column and a manager that refuses unscoped use."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+", editable=False)

    objects = TenantManager()

    class Meta:
        abstract = True


class JobState(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class Job(TenantModel):
    """One run of background work (an import, a recompute), shown with a live progress bar."""

    kind = models.CharField(max_length=64)
    state = models.CharField(max_length=16, choices=JobState.choices, default=JobState.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0)
    message = models.CharField(max_length=500, blank=True)
    params = models.JSONField(default=dict, blank=True)
    result = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Last sign of life of the process running the job (claim, progress); a running job without
    # one for SAM_JOB_STALE_MINUTES is marked failed as interrupted (sam.jobs.job_sweep_stale).
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["tenant", "kind", "state"])]
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk} ({self.state})"

    @property
    def is_finished(self) -> bool:
        return self.state in (JobState.DONE, JobState.FAILED)

    @property
    def duration_s(self) -> float | None:
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None


class AuditEvent(TenantModel):
    """Who changed what, when, with the values before and after. Written by the service itself."""

    at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    actor_label = models.CharField(max_length=150, blank=True, help_text="user name, or the command/task")
    action = models.CharField(max_length=100, db_index=True)
    object_type = models.CharField(max_length=100, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    object_repr = models.CharField(max_length=300, blank=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    note = models.TextField(blank=True)

    class Meta:
        indexes = [models.Index(fields=["tenant", "-at"]), models.Index(fields=["tenant", "object_type", "object_id"])]
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_label} {self.action} {self.object_repr}"

    @property
    def changes(self) -> list[tuple[str, object, object]]:
        before, after = self.before or {}, self.after or {}
        keys = sorted(set(before) | set(after))
        return [(k, before.get(k), after.get(k)) for k in keys if before.get(k) != after.get(k)]


class TablePreference(models.Model):
    """The columns (and their order) a user chose for one table. Per user, not per tenant."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="table_preferences")
    table = models.CharField(max_length=100)
    columns = models.JSONField(default=list)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "table"], name="tablepref_unique_user_table")]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.table}"


class ChangeKind(models.TextChoices):
    """What a change event says changed; the engine derives its delta from these."""

    DEVICES = "devices", _("Devices")
    PERSONS = "persons", _("Persons")
    PRODUCTS = "products", _("Products")
    ENTITLEMENTS = "entitlements", _("Entitlements")
    POSITIONS = "positions", _("License positions")
    FULL = "full", _("Everything (catalog rules, tenant settings)")


class ChangeState(models.TextChoices):
    PENDING = "pending", _("Pending")
    CLAIMED = "claimed", _("Being applied")
    DONE = "done", _("Applied")


class ChangeEvent(TenantModel):
    """The outbox: one row per change the engine must apply, written in the changing transaction.

    A service records *what* changed (a kind and the ids) next to its own writes, so the change can
    never be lost between a commit and a broker: whichever drain comes next (the task queued after
    the commit, the periodic one, or ``manage.py recompute``) claims the pending rows and applies them.
    """

    kind = models.CharField(max_length=16, choices=ChangeKind.choices)
    ids = models.JSONField(default=list, blank=True,
                           help_text="ids of the kind; for positions [product_id, license_model] pairs")
    as_of = models.DateField(null=True, blank=True)
    reason = models.CharField(max_length=200, blank=True)
    actor_label = models.CharField(max_length=150, blank=True)
    state = models.CharField(max_length=16, choices=ChangeState.choices, default=ChangeState.PENDING)
    job = models.ForeignKey(Job, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                            help_text="the run that claimed (and applied) the event")
    created_at = models.DateTimeField(default=timezone.now)
    applied_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["tenant", "state", "id"], name="changeevent_tenant_state")]
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.kind} {len(self.ids or [])} ({self.state}): {self.reason}"


def invitation_expiry():
    from datetime import timedelta

    return timezone.now() + timedelta(days=getattr(settings, "SAM_INVITATION_DAYS", 7))


class Invitation(TenantModel):
    """A one-time, expiring link that lets a person join a tenant with a role.

    Only the SHA-256 of the token is stored; the link is shown once to the admin who created it (and
    mailed when an e-mail is given). A new person sets their own password on the link's page; an
    existing account joins only when its owner logs in and accepts.
    """

    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    username = models.CharField(_("user name"), max_length=150, help_text=_("suggested user name for a new account"))
    email = models.EmailField(_("e-mail"), blank=True)
    role = models.CharField(_("role"), max_length=32, choices=Role.choices)
    invited_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    expires_at = models.DateTimeField(default=invitation_expiry)
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["tenant", "-created_at"])]
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.username} ({self.get_role_display()})"

    @property
    def is_open(self) -> bool:
        return self.accepted_at is None and self.revoked_at is None and self.expires_at > timezone.now()

    @property
    def state(self) -> str:
        if self.accepted_at:
            return "accepted"
        if self.revoked_at:
            return "revoked"
        return "open" if self.expires_at > timezone.now() else "expired"
