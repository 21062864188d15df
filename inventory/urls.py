"""Tenant pages of the estate, mounted at ``/t/<slug>/inventory/``."""
from __future__ import annotations

from django.urls import path

from inventory import views

app_name = "inventory"

urlpatterns = [
    path("", views.DeviceList.as_view(), name="devices"),
    path("devices/<int:pk>/", views.DeviceDetail.as_view(), name="device"),
    path("devices/<int:pk>/edit/", views.DeviceEdit.as_view(), name="device-edit"),
    path("devices/<int:pk>/retire/", views.DeviceRetire.as_view(), name="device-retire"),
    path("persons/", views.PersonList.as_view(), name="persons"),
    path("persons/<int:pk>/", views.PersonDetail.as_view(), name="person"),
    path("persons/<int:pk>/edit/", views.PersonEdit.as_view(), name="person-edit"),
    path("persons/<int:pk>/retire/", views.PersonRetire.as_view(), name="person-retire"),
    path("cost-centers/", views.CostCenterList.as_view(), name="cost-centers"),
    path("groups/", views.GroupList.as_view(), name="groups"),
    path("memberships/", views.MembershipList.as_view(), name="memberships"),
    path("installations/", views.InstallationList.as_view(), name="installations"),
    path("software/", views.FingerprintList.as_view(), name="fingerprints"),
    path("recognition/", views.FingerprintQueue.as_view(), name="recognition"),
    path("recognition/<int:pk>/classify/", views.FingerprintClassify.as_view(), name="fingerprint-classify"),
    path("vm-placements/", views.PlacementList.as_view(), name="placements"),
    path("remote-usage/", views.RemoteUsageList.as_view(), name="remote-usage"),
    path("service-bookings/", views.ServiceBookingList.as_view(), name="service-bookings"),
]
