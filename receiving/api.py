"""The push API: procurement systems post purchase lines with a per-tenant token.

Authentication comes first (401 for a missing, wrong or revoked token); a valid token used on
another tenant's URL gives 404, as an unknown tenant does. The view then enters the token's tenant
scope itself (the tenant middleware only handles /t/ pages) and calls the same service as the upload.
"""
from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods
from django_scopes import scope

from receiving.importers import COLUMNS, REQUIRED
from receiving.models import ApiToken, BatchSource, LineStatus, PurchaseLine
from receiving.services import api_token_authenticate, receiving_receive
from receiving.validation import CANONICAL, REASONS
from sam.importing import normalise_header

MAX_LINES = 10_000
_KEYS = {normalise_header(name): canonical for canonical, names in COLUMNS.items() for name in (canonical, *names)}


def _error(status: int, code: str, message: str, **extra) -> JsonResponse:
    response = JsonResponse({"error": code, "message": message, **extra}, status=status)
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="receiving"'
    return response


def _token(request: HttpRequest, slug: str) -> ApiToken | JsonResponse:
    header = request.headers.get("Authorization", "")
    scheme, _sep, raw = header.partition(" ")
    if scheme.lower() not in ("bearer", "token") or not raw.strip():
        return _error(401, "auth.missing", "Send the token as 'Authorization: Bearer <token>'.")
    token = api_token_authenticate(raw=raw.strip())
    if token is None:
        return _error(401, "auth.invalid", "The token is unknown or was revoked.")
    if token.tenant.slug != slug:
        return _error(404, "tenant.not_found", "No such tenant.")
    return token


def _line_values(item: Any, index: int) -> tuple[dict[str, str] | None, str]:
    if not isinstance(item, dict):
        return None, f"lines[{index}] is not an object"
    values: dict[str, str] = {}
    for key, value in item.items():
        canonical = _KEYS.get(normalise_header(str(key)))
        if canonical is None or canonical in values:
            continue
        if isinstance(value, (dict, list)):
            return None, f"lines[{index}].{key} must be a string, number or null"
        values[canonical] = "" if value is None else (str(value).lower() if isinstance(value, bool) else str(value))
    for column in REQUIRED:
        values.setdefault(column, "")
    return values, ""


def _line_json(line: PurchaseLine) -> dict[str, Any]:
    return {"id": line.pk, "batch": line.batch_id, "row": line.row_number, "status": line.status,
            "reasons": line.reasons, "warnings": line.warnings, "values": line.values,
            "entitlements": [e.pk for e in line.entitlements.all()]}


@csrf_exempt
@require_http_methods(["POST"])
def lines(request: HttpRequest, tenant: str) -> JsonResponse:
    """POST {"lines": [{...}], "reference": "..."}: stage, validate and transfer the lines."""
    token = _token(request, tenant)
    if isinstance(token, JsonResponse):
        return token
    try:
        payload = json.loads(request.body or b"{}")
    except RequestDataTooBig:
        return _error(413, "request.too_large", "The request is too large; send at most 10 MB per request.")
    except (ValueError, UnicodeDecodeError):
        return _error(400, "request.json", "The body is not valid JSON.")
    items = payload.get("lines") if isinstance(payload, dict) else None
    if not isinstance(items, list) or not items:
        return _error(400, "request.lines", "Send a non-empty list under \"lines\".")
    if len(items) > MAX_LINES:
        return _error(400, "request.too_many", f"Send at most {MAX_LINES} lines per request.")
    rows: list[tuple[int, dict[str, str]]] = []
    for index, item in enumerate(items):
        values, problem = _line_values(item, index)
        if values is None:
            return _error(400, "request.line", problem)
        rows.append((index + 1, values))
    reference = str(payload.get("reference") or "")[:300]
    with scope(tenant=token.tenant):
        result = receiving_receive(tenant=token.tenant, actor=f"api:{token.name}", rows=rows, source=BatchSource.API,
                                   filename=reference)
        # receiving_receive recorded the transferred entitlements and asks for the drain itself.
    body = {**result.as_dict(), "lines": [{**o, "index": o["row"] - 1} for o in result.line_outcomes]}
    return JsonResponse(body, status=201 if result.created else 200)


@csrf_exempt
@require_GET
def line_detail(request: HttpRequest, tenant: str, pk: int) -> JsonResponse:
    """GET one line's status and reasons (for a procurement system following up)."""
    token = _token(request, tenant)
    if isinstance(token, JsonResponse):
        return token
    with scope(tenant=token.tenant):
        line = PurchaseLine.objects.filter(pk=pk).prefetch_related("entitlements").first()
        if line is None:
            return _error(404, "line.not_found", "No such line.")
        return JsonResponse(_line_json(line))


def openapi_schema() -> dict[str, Any]:
    line_props = {c: {"type": ["string", "number", "null"], "description": f"{c} (see docs/receiving.md)"}
                  for c in CANONICAL}
    issue = {"type": "object", "properties": {"code": {"type": "string", "enum": sorted(REASONS)},
                                              "column": {"type": "string"}, "message": {"type": "string"}}}
    outcome = {"type": "object", "properties": {
        "index": {"type": "integer", "description": "position in the request's lines"},
        "row": {"type": "integer"}, "id": {"type": "integer"},
        "status": {"type": "string", "enum": list(LineStatus.values)},
        "reasons": {"type": "array", "items": issue}, "warnings": {"type": "array", "items": issue}}}
    error = {"type": "object", "properties": {"error": {"type": "string"}, "message": {"type": "string"}}}
    slug = {"name": "tenant", "in": "path", "required": True, "schema": {"type": "string"}}
    return {
        "openapi": "3.0.3",
        "info": {"title": "SAM receiving inspection push API", "version": "1",
                 "description": "Procurement systems push purchase lines into a tenant's receiving inspection. "
                                "Lines that pass every check become entitlements at once; the rest wait in the "
                                "clearing queue with reason codes. Sending the same line again changes nothing."},
        "components": {"securitySchemes": {"token": {"type": "http", "scheme": "bearer",
                                                     "description": "a tenant API token (samr_...)"}},
                       "schemas": {"Line": {"type": "object", "properties": line_props, "required": list(REQUIRED)},
                                   "Issue": issue, "Outcome": outcome, "Error": error}},
        "security": [{"token": []}],
        "paths": {
            "/api/t/{tenant}/receiving/lines/": {"post": {
                "summary": "Push purchase lines",
                "parameters": [slug],
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["lines"],
                    "properties": {"reference": {"type": "string", "description": "shown as the batch's name"},
                                   "lines": {"type": "array", "maxItems": MAX_LINES,
                                             "items": {"$ref": "#/components/schemas/Line"}}}}}}},
                "responses": {
                    "201": {"description": "lines received", "content": {"application/json": {"schema": {
                        "type": "object", "properties": {
                            "read": {"type": "integer"}, "created": {"type": "integer"},
                            "skipped": {"type": "integer", "description": "received before; nothing changed"},
                            "transferred": {"type": "integer"}, "waiting": {"type": "integer"},
                            "batch": {"type": ["integer", "null"]},
                            "lines": {"type": "array", "items": {"$ref": "#/components/schemas/Outcome"}}}}}}},
                    "200": {"description": "every line was received before; nothing changed"},
                    "400": {"description": "malformed request", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
                    "401": {"description": "missing, unknown or revoked token"},
                    "404": {"description": "the tenant does not exist or is not the token's"},
                    "413": {"description": "request larger than 10 MB"}}}},
            "/api/t/{tenant}/receiving/lines/{id}/": {"get": {
                "summary": "One line's status and reasons",
                "parameters": [slug, {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}],
                "responses": {"200": {"description": "the line"}, "401": {"description": "bad token"},
                              "404": {"description": "no such line in this tenant"}}}},
        },
    }


@require_GET
def schema(request: HttpRequest) -> JsonResponse:
    """The OpenAPI 3 description of this API, for a signed-in user or a holder of a valid token
    (nothing outside a tenant is shown to anonymous visitors)."""
    if not request.user.is_authenticated:
        scheme, _sep, raw = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() not in ("bearer", "token") or api_token_authenticate(raw=raw.strip()) is None:
            return _error(401, "auth.missing", "Sign in, or send a token as 'Authorization: Bearer <token>'.")
    return JsonResponse(openapi_schema(), json_dumps_params={"indent": 1})
