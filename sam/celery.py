"""The Celery app. With no broker configured, tasks run inline (the embedded default)."""
from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sam.settings")

app = Celery("sam")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
