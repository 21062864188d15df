"""M3 of the security review (issue 14): DEBUG was on unless SAM_ENV=production, and under DEBUG
``/media/`` served every tenant's contract documents and batch files without log-in at guessable
paths. Now DEBUG is off unless set, MEDIA_URL is never routed (not even with DEBUG=1), stored files
get random names, and only the scoped download views hand them out. Fails on b7f100c.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django_scopes import scope

from entitlements.models import Contract
from entitlements.services import document_add
from sam.models import Role

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import json, django
django.setup()
from django.conf import settings
from django.urls import resolve, Resolver404
try:
    resolve("/" + settings.MEDIA_URL + "entitlements/1/contract.pdf")
    media = True
except Resolver404:
    media = False
print(json.dumps({"debug": settings.DEBUG, "media_routed": media}))
"""


def _probe(**env) -> dict:
    clean = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "SAM_ENV")}
    clean.update(env, DJANGO_SETTINGS_MODULE="sam.settings")
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=clean, capture_output=True, text=True,
                         timeout=120, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_debug_is_off_unless_set_and_media_is_never_routed():
    assert _probe() == {"debug": False, "media_routed": False}
    assert _probe(DEBUG="1") == {"debug": True, "media_routed": False}


def test_documents_get_random_storage_names_and_download_only_through_the_scoped_view(
        client, cast, tenant_a, tenant_b, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    with scope(tenant=tenant_a):
        contract = Contract.objects.create(tenant=tenant_a, number="EA-1")
        doc = document_add(tenant=tenant_a, actor=cast[Role.ADMIN], contract=contract,
                           file=SimpleUploadedFile("acme-contract.pdf", b"%PDF-1.4 secret terms"))
    assert re.fullmatch(rf"entitlements/{tenant_a.pk}/[0-9a-f]{{32}}\.pdf", doc.file.name), doc.file.name
    assert "acme" not in doc.file.name

    url = reverse("entitlements:document", kwargs={"tenant": tenant_a.slug, "pk": doc.pk})
    assert client.get(url).status_code == 302  # log-in first
    client.force_login(cast["b_admin"])
    assert client.get(reverse("entitlements:document", kwargs={"tenant": tenant_b.slug, "pk": doc.pk})).status_code == 404
    client.force_login(cast[Role.AUDITOR])
    response = client.get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"%PDF-1.4 secret terms"
    assert 'filename="acme-contract.pdf"' in response["Content-Disposition"]
    assert client.get("/" + settings.MEDIA_URL + doc.file.name).status_code == 404


def test_receiving_batch_files_get_random_storage_names(tenant_a, settings, tmp_path):
    from receiving.models import ImportBatch

    settings.MEDIA_ROOT = tmp_path
    with scope(tenant=tenant_a):
        batch = ImportBatch.objects.create(tenant=tenant_a, filename="po-2026.csv")
        from django.core.files.base import ContentFile

        batch.file.save("20260101-1-po-2026.csv", ContentFile(b"sku,quantity\n"), save=True)
    assert re.fullmatch(rf"receiving/batches/{tenant_a.pk}/[0-9a-f]{{32}}\.csv", batch.file.name), batch.file.name
