"""A test-only list page over sam.AuditEvent, mounted next to the real URLs."""
from __future__ import annotations

import django_tables2 as tables
from django.http import HttpResponseRedirect
from django.urls import include, path

from sam.lists import SelectionColumn, TenantListView
from sam.models import AuditEvent
from sam.urls import urlpatterns as real_patterns


class EventTable(tables.Table):
    selection = SelectionColumn()
    action = tables.Column()
    actor = tables.Column(accessor="actor__username", verbose_name="Actor")
    object_repr = tables.Column(verbose_name="Record")
    object_id = tables.Column(verbose_name="Id")
    note = tables.Column()

    class Meta:
        model = AuditEvent
        fields = ("selection", "action", "actor", "object_repr", "object_id", "note")
        default_columns = ("action", "actor", "object_repr")


class EventList(TenantListView):
    permission = "audit.view"
    model = AuditEvent
    table_class = EventTable
    table_key = "test.events"
    filter_fields = {"action": "text", "note": "text", "object_id": "text", "at": "date"}
    bulk_actions = {"annotate": ("Annotate", "members.manage")}

    def get_queryset(self):
        return AuditEvent.objects.all()

    def handle_bulk_action(self, action, queryset):
        queryset.update(note="bulk")
        return HttpResponseRedirect(self.request.path)


urlpatterns = [
    path("t/<slug:tenant>/test-events/", include([path("", EventList.as_view(), name="test-events")])),
    *real_patterns,
]
