"""The push API: procurement systems post purchase lines with a per-tenant token.

Authentication comes first (401 for a missing, wrong or revoked token); a valid token used on
another tenant's URL gives 404, as an unknown tenant does. The view then enters the token's tenant
scope itself (the tenant middleware only handles /t/ pages) and calls the same service as the upload.
"""
from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.db import transaction
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods
from django_scopes import scope

from receiving.importers import COLUMNS, REQUIRED
from receiving.models import ApiToken, BatchSource, LineStatus, PurchaseLine
from receiving.services import api_token_authenticate, receiving_receive
from receiving.validation import CANONICAL, REASONS
from sam.importing import MAX_DATE, MIN_DATE, RowError, normalise_header, parse_date

MAX_LINES = 10_000
MAX_DEPTH = 4  # {"lines": [{"sku": ...}]} is three levels deep; nothing deeper is read
MAX_TEXT = 1000  # characters per value
_KEYS = {normalise_header(name): canonical for canonical, names in COLUMNS.items() for name in (canonical, *names)}
# The API's number syntax: ASCII digits with "." as the one decimal separator; no sign, thousands
# separators, exponent or other digits (a quantity "1,5" is refused, never read as 15).
QUANTITY = re.compile(r"^[0-9]{1,12}(\.[0-9]{1,6})?$")
PRICE = re.compile(r"^-?[0-9]{1,12}(\.[0-9]{1,6})?$")
DATE_COLUMNS = ("order_date", "invoice_date", "start_date", "end_date")
DATE_PATTERN = r"^(19|20|21)[0-9]{2}-[0-9]{2}-[0-9]{2}$"
# Metrics counted in whole consumers or processors: a purchase of such a SKU is a whole number.
WHOLE_METRICS = frozenset({"device", "user", "ose", "concurrent", "processor", "core"})


class BadRequest(Exception):
    def __init__(self, code: str, message: str, **extra):
        super().__init__(message)
        self.code, self.message, self.extra = code, message, extra


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


def _depth(value: Any, limit: int) -> int:
    """How deeply ``value`` nests (iteratively: a hostile body cannot exhaust the stack here)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        if deepest > limit:
            return deepest
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return deepest


_BAD_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def _text(value: Any, where: str) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise BadRequest("request.value", f"{where} is not a finite number")
        return format(Decimal(repr(value)), "f")
    text = str(value)
    if _BAD_TEXT.search(text):
        raise BadRequest("request.value", f"{where} holds a NUL, a control character or a lone surrogate")
    if len(text) > MAX_TEXT:
        raise BadRequest("request.value", f"{where} is longer than {MAX_TEXT} characters")
    return text.strip()


def _line_values(item: Any, index: int) -> dict[str, str]:
    """One line as canonical text values, every value checked strictly; raises BadRequest."""
    if not isinstance(item, dict):
        raise BadRequest("request.line", f"lines[{index}] is not an object", index=index)
    values: dict[str, str] = {}
    for key, value in item.items():
        canonical = _KEYS.get(normalise_header(_text(key, f"lines[{index}] key")))
        if canonical is None or canonical in values:
            continue
        where = f"lines[{index}].{key}"
        if isinstance(value, (dict, list)):
            raise BadRequest("request.line", f"{where} must be a string, number or null", index=index)
        values[canonical] = "" if value is None else _text(value, where)
    for column in REQUIRED:
        if not values.get(column):
            raise BadRequest("request.required", f"lines[{index}].{column} is required", index=index, column=column)
    if not QUANTITY.match(values["quantity"]) or Decimal(values["quantity"]) <= 0:
        raise BadRequest("request.quantity", f"lines[{index}].quantity {values['quantity'][:40]!r} is not a positive "
                         "number written with digits and at most one '.'", index=index, column="quantity")
    if values.get("unit_price") and not PRICE.match(values["unit_price"]):
        raise BadRequest("request.number", f"lines[{index}].unit_price {values['unit_price'][:40]!r} is not a number "
                         "written with digits and at most one '.'", index=index, column="unit_price")
    for column in DATE_COLUMNS:
        if values.get(column):
            try:
                if not re.match(DATE_PATTERN, values[column]):
                    raise RowError("value.date")
                parse_date(values[column], column=column)
            except RowError:
                raise BadRequest("request.date", f"lines[{index}].{column} {values[column][:40]!r} is not a date "
                                 f"YYYY-MM-DD between {MIN_DATE} and {MAX_DATE}", index=index, column=column) from None
    po_line = values.get("po_line", "")
    if re.fullmatch(r"[0-9]{1,9}(\.0+)?", po_line):
        values["po_line"] = str(int(Decimal(po_line)))  # "1", "1.0" and "01" are the same PO line
    return values


def _whole_quantities(tenant, rows: list[tuple[int, dict[str, str]]]) -> None:
    """Refuse a fractional quantity of a SKU whose license model counts whole devices, users, ..."""
    fractional = [(n, v) for n, v in rows if "." in v["quantity"] and Decimal(v["quantity"]) % 1]
    if not fractional:
        return
    from catalog.selectors import license_models_effective, product_terms_effective, sku_resolve_many

    resolved = sku_resolve_many(tenant=tenant, part_numbers=[v["sku"] for _n, v in fractional])
    skus = {k: r.sku for k, r in resolved.items() if r.sku is not None}
    terms = product_terms_effective(tenant=tenant, product_ids={s.product_id for s in skus.values()})
    models = license_models_effective(tenant=tenant)
    for row_no, v in fractional:
        sku = skus.get(v["sku"])
        if sku is None:
            continue  # an unknown SKU waits in the queue anyway
        model = models.get(sku.license_model or terms[sku.product_id].default_license_model)
        if model is not None and model.metric in WHOLE_METRICS:
            raise BadRequest("request.quantity", f"lines[{row_no - 1}].quantity {v['quantity']} is not a whole "
                             f"number, but {v['sku']} is licensed per {model.metric}", index=row_no - 1,
                             column="quantity")


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
        body = request.body or b"{}"
        payload = json.loads(body, parse_constant=_no_constant)
    except RequestDataTooBig:
        return _error(413, "request.too_large", "The request is too large; send at most 10 MB per request.")
    except (ValueError, UnicodeDecodeError, RecursionError):
        return _error(400, "request.json", "The body is not valid JSON.")
    if _depth(payload, MAX_DEPTH + 1) > MAX_DEPTH:
        return _error(400, "request.json", "The body nests deeper than lines of flat objects.")
    items = payload.get("lines") if isinstance(payload, dict) else None
    if not isinstance(items, list) or not items:
        return _error(400, "request.lines", "Send a non-empty list under \"lines\".")
    if len(items) > MAX_LINES:
        return _error(400, "request.too_many", f"Send at most {MAX_LINES} lines per request.")
    try:
        rows = [(index + 1, _line_values(item, index)) for index, item in enumerate(items)]
        reference = _text(payload.get("reference") or "", "reference")[:300]
        with scope(tenant=token.tenant):
            _whole_quantities(token.tenant, rows)
            # The request is applied whole or not at all: one transaction around every chunk.
            with transaction.atomic():
                result = receiving_receive(tenant=token.tenant, actor=f"api:{token.name}", rows=rows,
                                           source=BatchSource.API, filename=reference)
            if result.transferred:
                from requirements_engine.services import recompute_request

                recompute_request(tenant=token.tenant, reason="procurement push", actor=f"api:{token.name}")
    except BadRequest as exc:
        return _error(400, exc.code, exc.message, **exc.extra)
    body = {**result.as_dict(), "lines": [{**o, "index": o["row"] - 1} for o in result.line_outcomes]}
    return JsonResponse(body, status=201 if result.created else 200)


def _no_constant(name: str):
    raise ValueError(f"{name} is not JSON")


@csrf_exempt
@require_GET
def line_detail(request: HttpRequest, tenant: str, pk: int) -> JsonResponse:
    """GET one line's status and reasons (for a procurement system following up)."""
    token = _token(request, tenant)
    if isinstance(token, JsonResponse):
        return token
    if pk > 2**63 - 1:
        return _error(404, "line.not_found", "No such line.")
    with scope(tenant=token.tenant):
        line = PurchaseLine.objects.filter(pk=pk).prefetch_related("entitlements").first()
        if line is None:
            return _error(404, "line.not_found", "No such line.")
        return JsonResponse(_line_json(line))


def openapi_schema() -> dict[str, Any]:
    """The OpenAPI 3.1 description of the push API (JSON Schema 2020-12 types, so ``null`` and
    "string or number" are written as type lists). It states what the server enforces: the
    required columns, the number and date syntax, at least one line."""
    scalar = ["string", "number", "boolean", "null"]
    line_props: dict[str, Any] = {c: {"type": scalar, "maxLength": MAX_TEXT, "description": f"{c} (see docs/receiving.md)"}
                                  for c in CANONICAL}
    line_props["sku"] = {"type": ["string", "integer"], "minLength": 1, "maxLength": 100, "pattern": "[^\\s]",
                         "minimum": 0, "description": "the part number (or an alias)"}
    line_props["quantity"] = {"type": ["string", "integer"], "pattern": QUANTITY.pattern, "minimum": 1,
                              "maximum": 999_999_999_999,
                              "description": "a positive number: ASCII digits, '.' as the one decimal separator"}
    line_props["unit_price"] = {"type": ["string", "number", "null"], "pattern": PRICE.pattern,
                                "minimum": -999_999_999_999, "maximum": 999_999_999_999, "multipleOf": 0.01,
                                "description": "digits with at most one '.'"}
    for column in DATE_COLUMNS:
        line_props[column] = {"type": ["string", "null"], "format": "date", "pattern": DATE_PATTERN,
                              "description": "YYYY-MM-DD, 1900-01-01 to 2199-12-31"}
    issue = {"type": "object", "properties": {"code": {"type": "string", "enum": sorted(REASONS)},
                                              "column": {"type": "string"}, "message": {"type": "string"}}}
    note = {"type": "object", "properties": {"code": {"type": "string"}, "column": {"type": "string"},
                                             "message": {"type": "string"}}}
    outcome = {"type": "object", "required": ["index", "status"], "properties": {
        "index": {"type": "integer", "description": "position in the request's lines"},
        "row": {"type": "integer"}, "id": {"type": "integer"},
        "status": {"type": "string", "enum": list(LineStatus.values)},
        "reasons": {"type": "array", "items": {"$ref": "#/components/schemas/Issue"}},
        "warnings": {"type": "array", "items": {"$ref": "#/components/schemas/Note"}}}}
    error = {"type": "object", "required": ["error", "message"], "properties": {
        "error": {"type": "string", "description": "a stable code, e.g. request.quantity"},
        "message": {"type": "string"},
        "index": {"type": "integer", "description": "the offending line's position, when one is to blame"},
        "column": {"type": "string"}}}
    received = {"type": "object", "required": ["read", "created", "skipped", "transferred", "waiting", "lines"],
                "properties": {
                    "read": {"type": "integer"}, "created": {"type": "integer"},
                    "skipped": {"type": "integer", "description": "received before; nothing changed"},
                    "transferred": {"type": "integer"}, "waiting": {"type": "integer"},
                    "batch": {"type": ["integer", "null"]},
                    "reasons": {"type": "object", "additionalProperties": {"type": "integer"}},
                    "lines": {"type": "array", "items": {"$ref": "#/components/schemas/Outcome"}}}}

    def json_body(ref: str) -> dict[str, Any]:
        return {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}}

    def failure(text: str) -> dict[str, Any]:
        return {"description": text, "content": json_body("Error")}

    slug = {"name": "tenant", "in": "path", "required": True, "schema": {"type": "string"}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "SAM receiving inspection push API", "version": "2",
                 "description": "Procurement systems push purchase lines into a tenant's receiving inspection. "
                                "Lines that pass every check become entitlements at once; the rest wait in the "
                                "clearing queue with reason codes. Sending the same line again changes nothing. "
                                "A request is applied whole or not at all."},
        "components": {"securitySchemes": {"token": {"type": "http", "scheme": "bearer",
                                                     "description": "a tenant API token (samr_...)"}},
                       "schemas": {"Line": {"type": "object", "properties": line_props, "required": list(REQUIRED),
                                            "additionalProperties": {"type": scalar, "maxLength": MAX_TEXT}},
                                   "Issue": issue, "Note": note, "Outcome": outcome, "Error": error, "Received": received}},
        "security": [{"token": []}],
        "paths": {
            "/api/t/{tenant}/receiving/lines/": {"post": {
                "summary": "Push purchase lines",
                "parameters": [slug],
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["lines"],
                    "properties": {"reference": {"type": ["string", "null"], "maxLength": 300,
                                                 "description": "shown as the batch's name"},
                                   "lines": {"type": "array", "minItems": 1, "maxItems": MAX_LINES,
                                             "items": {"$ref": "#/components/schemas/Line"}}}}}}},
                "responses": {
                    "201": {"description": "lines received", "content": json_body("Received")},
                    "200": {"description": "every line was received before; nothing changed",
                            "content": json_body("Received")},
                    "400": failure("a malformed request or value; nothing was applied"),
                    "401": failure("missing, unknown, expired or revoked token"),
                    "404": failure("the tenant does not exist or is not the token's"),
                    "413": failure("request larger than 10 MB")}}},
            "/api/t/{tenant}/receiving/lines/{id}/": {"get": {
                "summary": "One line's status and reasons",
                "parameters": [slug, {"name": "id", "in": "path", "required": True,
                                      "schema": {"type": "integer", "minimum": 1, "maximum": 2**63 - 1}}],
                "responses": {"200": {"description": "the line"}, "401": failure("bad token"),
                              "404": failure("no such line in this tenant")}}},
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
