"""Validation of purchase lines: every check, its stable reason code and its plain-language message.

``check_lines`` validates a chunk of lines at once. It resolves everything the chunk refers to (SKUs,
their products' publishers, contracts, cost centers, persons, earlier lines with the same PO or
invoice line) with a fixed number of queries, whatever the chunk's size, and returns one
``Checked`` per line: the parsed columns, the issues found, and, when nothing blocks, the row the
transfer hands to ``entitlements_create_many``.
"""
from __future__ import annotations

import calendar
import datetime as dt
import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models.functions import Lower, Upper
from django.utils.translation import gettext_lazy as _

from receiving.currencies import ISO_4217
from sam.importing import RowError, parse_date, parse_decimal
from sam.models import Tenant

# The canonical columns of the ``procurement`` kind, in export order.
CANONICAL: tuple[str, ...] = (
    "sku", "description", "publisher", "quantity", "unit_price", "currency", "po_number", "po_line",
    "order_date", "invoice_number", "invoice_date", "contract_number", "cost_center", "requester_email",
    "supplier", "start_date", "end_date",
)

ERROR, WARNING, INFO = "error", "warning", "info"

# code -> (group, short label, what it means and how to clear it)
REASONS: dict[str, tuple[str, Any, Any]] = {
    "syntax.missing": ("syntax", _("Required value missing"),
                       _("A value the line needs is empty (quantity, or the currency of a priced line).")),
    "syntax.number": ("syntax", _("Not a number"), _("A quantity or price cannot be read as a number.")),
    "syntax.date": ("syntax", _("Not a date"), _("A date cannot be read in the batch's date format.")),
    "syntax.negative_price": ("syntax", _("Negative price"), _("The unit price is below zero.")),
    "syntax.quantity": ("syntax", _("Quantity not positive"), _("The quantity is zero or negative.")),
    "syntax.currency": ("syntax", _("Unknown currency"), _("The currency is not an ISO 4217 code such as EUR.")),
    "syntax.dates_order": ("syntax", _("End before start"), _("The end date lies before the start date.")),
    "sku.missing": ("sku", _("No part number"), _("The line carries no manufacturer part number (SKU).")),
    "sku.unknown": ("sku", _("Unknown part number"),
                    _("Neither the catalog nor an alias knows this part number. Map it to a catalog SKU.")),
    "sku.ambiguous": ("sku", _("Ambiguous part number"), _("The part number matches several catalog SKUs.")),
    "sku.alias": ("sku", _("Resolved through an alias"),
                  _("The part number was translated to a catalog SKU by an alias (for information).")),
    "sku.term_missing": ("sku", _("Term missing"),
                         _("A subscription or maintenance needs a term: the SKU has none and the line "
                           "gives no start and end date.")),
    "contract.missing": ("contract", _("No contract"), _("This tenant requires an agreement number on every line.")),
    "contract.unknown": ("contract", _("Unknown contract"), _("No contract has this agreement number.")),
    "contract.publisher_mismatch": ("contract", _("Contract of another publisher"),
                                    _("The contract belongs to a different publisher than the product.")),
    "contract.outside_term": ("contract", _("Ordered outside the contract term"),
                              _("The order date lies outside the contract's start and end date.")),
    "cost_center.unknown": ("organisation", _("Unknown cost center"), _("No cost center has this code.")),
    "cost_center.missing": ("organisation", _("No cost center"),
                            _("This tenant requires a cost center on every line.")),
    "email.malformed": ("organisation", _("Malformed e-mail"), _("The requester's e-mail address is not valid.")),
    "email.unknown": ("organisation", _("Unknown requester"), _("No person has this e-mail address.")),
    "email.inactive": ("organisation", _("Inactive requester"), _("The requester is no longer active.")),
    "duplicate.po_line": ("duplicate", _("PO line already received"),
                          _("Another line with the same purchase order number and line was received before.")),
    "duplicate.invoice_line": ("duplicate", _("Invoice line already received"),
                               _("A line with the same invoice number, part number, quantity and price was "
                                 "received before.")),
}

# Checks a tenant may turn into warnings. The others leave nothing that could be transferred.
DOWNGRADABLE: tuple[str, ...] = (
    "syntax.negative_price", "syntax.currency", "syntax.dates_order", "sku.term_missing", "contract.missing",
    "contract.unknown", "contract.publisher_mismatch", "contract.outside_term", "cost_center.unknown",
    "email.malformed", "email.unknown", "email.inactive", "duplicate.po_line", "duplicate.invoice_line",
)
INFORMATIONAL = frozenset({"sku.alias"})

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_AMOUNT = Decimal("999999999999")  # fits DecimalField(max_digits=14, decimal_places=2)
TWO_PLACES = Decimal("0.01")


@dataclass(frozen=True)
class Issue:
    code: str
    column: str
    message: str
    severity: str = ERROR

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "column": self.column, "message": self.message}


@dataclass(frozen=True)
class Options:
    """How a batch's text is read: the profile's date format, decimal separator and default currency."""

    date_format: str = ""
    decimal_separator: str = "."
    default_currency: str = ""


@dataclass
class Rules:
    """The tenant's switches, read once per run."""

    warnings: frozenset[str] = frozenset()
    require_contract: bool = False
    as_draft: bool = False
    require_cost_center: bool = False

    @classmethod
    def for_tenant(cls, tenant: Tenant) -> Rules:
        chosen = set(tenant.setting("receiving_warnings", []) or [])
        return cls(warnings=frozenset(c for c in chosen if c in DOWNGRADABLE),
                   require_contract=bool(tenant.setting("receiving_require_contract", False)),
                   as_draft=bool(tenant.setting("receiving_transfer_as_draft", False)),
                   require_cost_center=bool(tenant.setting("receiving_require_cost_center", False)))


@dataclass
class Checked:
    """The outcome for one line: columns to store, issues, and the entitlement row if it may transfer."""

    columns: dict[str, Any]
    issues: list[Issue] = field(default_factory=list)
    entitlement: dict[str, Any] | None = None

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == ERROR]

    @property
    def notes(self) -> list[Issue]:
        return [i for i in self.issues if i.severity != ERROR]

    @property
    def passes(self) -> bool:
        return not self.errors

    @property
    def reason_codes(self) -> str:
        codes = list(dict.fromkeys(i.code for i in self.errors))
        return f",{','.join(codes)}," if codes else ""


def fingerprint(values: dict[str, str], occurrence: int = 0) -> str:
    """A content hash of a line's canonical values (the nth identical line in one file counts apart)."""
    payload = json.dumps({k: (values.get(k) or "").strip() for k in CANONICAL}, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(f"{payload}#{occurrence}".encode()).hexdigest()


def add_months(day: dt.date, months: int) -> dt.date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _text(values: dict[str, Any], key: str) -> str:
    value = values.get(key)
    return "" if value is None else str(value).strip()


def _po_key(po_number: str, po_line: str) -> tuple[str, str] | None:
    return (po_number, po_line) if po_number and po_line else None


def _invoice_key(invoice: str, sku: str, quantity: Decimal | None, price: Decimal | None) -> tuple | None:
    if not invoice:
        return None
    return (invoice, sku.upper(), str(quantity.normalize()) if quantity is not None else "",
            str(price.normalize()) if price is not None else "")


def _parse(values: dict[str, Any], options: Options, tenant_currency: str) -> tuple[dict[str, Any], list[Issue]]:
    """Syntax checks: the line's text as typed values, and what could not be read."""
    issues: list[Issue] = []
    out: dict[str, Any] = {k: _text(values, k) for k in CANONICAL}

    def number(column: str) -> Decimal | None:
        try:
            value = parse_decimal(out[column], column=column, decimal_separator=options.decimal_separator)
        except RowError:
            issues.append(Issue("syntax.number", column, _("“%(v)s” is not a number.") % {"v": out[column][:60]}))
            return None
        if value is not None and (abs(value) > MAX_AMOUNT or value != value.quantize(TWO_PLACES)):
            issues.append(Issue("syntax.number", column,
                                _("“%(v)s” is too large or has more than two decimals.") % {"v": out[column][:60]}))
            return None
        return value

    def date(column: str) -> dt.date | None:
        text = out[column]
        if not text:
            return None
        for fmt in ([options.date_format] if options.date_format else []) + [""]:
            try:
                return parse_date(text, fmt=fmt, column=column)
            except RowError:
                continue
        shown = options.date_format or "YYYY-MM-DD"
        issues.append(Issue("syntax.date", column, _("“%(v)s” is not a date (%(f)s).") % {"v": text[:40], "f": shown}))
        return None

    quantity = number("quantity")
    if not out["quantity"]:
        issues.append(Issue("syntax.missing", "quantity", _("The quantity is empty.")))
    elif quantity is not None and quantity <= 0:
        issues.append(Issue("syntax.quantity", "quantity", _("The quantity must be above zero, not %(q)s.") % {"q": quantity}))
    price = number("unit_price")
    if price is not None and price < 0:
        issues.append(Issue("syntax.negative_price", "unit_price", _("The unit price %(p)s is negative.") % {"p": price}))
    currency = out["currency"].upper() or options.default_currency.upper() or tenant_currency.upper()
    if currency and currency not in ISO_4217:
        issues.append(Issue("syntax.currency", "currency", _("“%(c)s” is not an ISO 4217 currency code.") % {"c": currency[:10]}))
    elif not currency and price is not None:
        issues.append(Issue("syntax.missing", "currency", _("The line has a price but no currency.")))
    parsed = {
        "quantity": quantity, "unit_price": price, "currency": currency if currency in ISO_4217 else "",
        "order_date": date("order_date"), "invoice_date": date("invoice_date"),
        "start_date": date("start_date"), "end_date": date("end_date"),
    }
    if parsed["start_date"] and parsed["end_date"] and parsed["end_date"] < parsed["start_date"]:
        issues.append(Issue("syntax.dates_order", "end_date", _("The end date %(e)s lies before the start date %(s)s.")
                            % {"e": parsed["end_date"], "s": parsed["start_date"]}))
    if out["requester_email"] and not EMAIL.match(out["requester_email"]):
        issues.append(Issue("email.malformed", "requester_email",
                            _("“%(v)s” is not an e-mail address.") % {"v": out["requester_email"][:80]}))
    out.update(parsed)
    return out, issues


class ChunkContext:
    """Everything a chunk of lines refers to, loaded with one query per kind of reference."""

    def __init__(self, *, tenant: Tenant, parsed: Sequence[dict[str, Any]]):
        from catalog.models import Product
        from catalog.selectors import sku_resolve_lines
        from entitlements.models import Contract
        from inventory.models import CostCenter, Person
        from receiving.models import LineStatus, PurchaseLine

        pairs = sorted({(p["sku"], p["supplier"]) for p in parsed if p["sku"]})
        # (part number, supplier) -> resolution: an alias may hold for one supplier only.
        self.skus = sku_resolve_lines(tenant=tenant, pairs=pairs) if pairs else {}
        product_ids = {r.sku.product_id for r in self.skus.values() if r.sku is not None}
        self.product_publisher: dict[int, tuple[int, str]] = {
            pid: (pub_id, name) for pid, pub_id, name in
            Product.objects.filter(id__in=product_ids).values_list("id", "publisher_id", "publisher__name")
        } if product_ids else {}
        numbers = sorted({p["contract_number"].upper() for p in parsed if p["contract_number"]})
        self.contracts = {c.number.upper(): c for c in Contract.objects.annotate(_n=Upper("number"))
                          .filter(_n__in=numbers).select_related("publisher")} if numbers else {}
        codes = sorted({p["cost_center"].upper() for p in parsed if p["cost_center"]})
        self.cost_centers = set(CostCenter.objects.annotate(_c=Upper("code")).filter(_c__in=codes)
                                .values_list("_c", flat=True)) if codes else set()
        emails = sorted({p["requester_email"].lower() for p in parsed if p["requester_email"]})
        self.person_active: dict[str, bool] = {}
        if emails:
            for email, status in (Person.objects.annotate(_e=Lower("email")).filter(_e__in=emails)
                                  .values_list("_e", "status")):
                self.person_active[email] = self.person_active.get(email, False) or status == "active"
        # Earlier lines with the same PO line or invoice line (rejected lines do not count).
        live = PurchaseLine.objects.exclude(status=LineStatus.REJECTED)
        pos = sorted({p["po_number"] for p in parsed if p["po_number"] and p["po_line"]})
        self.po_first: dict[tuple[str, str], int] = {}
        if pos:
            for pk, po, line in live.filter(po_number__in=pos).exclude(po_line="").values_list("id", "po_number", "po_line"):
                key = (po, line)
                self.po_first[key] = min(pk, self.po_first.get(key, pk))
        invoices = sorted({p["invoice_number"] for p in parsed if p["invoice_number"] and not p["po_line"]})
        self.invoice_first: dict[tuple, int] = {}
        if invoices:
            for pk, inv, sku, qty, price in (live.filter(invoice_number__in=invoices, po_line="")
                                             .values_list("id", "invoice_number", "sku", "quantity", "unit_price")):
                key = _invoice_key(inv, sku, qty, price)
                self.invoice_first[key] = min(pk, self.invoice_first.get(key, pk))


def check_lines(*, tenant: Tenant, items: Sequence[tuple[int | None, dict[str, Any], Options]], rules: Rules,
                seen: dict | None = None) -> list[Checked]:
    """Validate a chunk of lines; ``items`` are (line id or None for a new line, current values, options).

    ``seen`` carries the PO and invoice lines of earlier chunks of the same run, so duplicates inside
    one file are found too. Returns one ``Checked`` per item, in order.
    """
    seen = {} if seen is None else seen
    tenant_currency = tenant.setting("receiving_default_currency", "") or ""
    parsed_issues = [_parse(values, options, tenant_currency) for _id, values, options in items]
    parsed = [p for p, _i in parsed_issues]
    ctx = ChunkContext(tenant=tenant, parsed=parsed)
    out: list[Checked] = []
    for (line_id, _values, _options), (p, issues) in zip(items, parsed_issues, strict=False):
        issues = list(issues)
        me = line_id if line_id is not None else object()  # a new line: equal to nothing else
        sku_text = p["sku"]
        resolution = ctx.skus.get((sku_text, p["supplier"])) if sku_text else None
        sku = resolution.sku if resolution is not None else None
        if not sku_text:
            issues.append(Issue("sku.missing", "sku", _("The line has no part number.")))
        elif resolution is not None and resolution.ambiguous:
            issues.append(Issue("sku.ambiguous", "sku", _("“%(s)s” matches several catalog SKUs.") % {"s": sku_text[:100]}))
        elif sku is None:
            issues.append(Issue("sku.unknown", "sku", _("“%(s)s” is not in the catalog.") % {"s": sku_text[:100]}))
        else:
            if resolution.via_alias:
                message = (_("“%(a)s” was read as catalog SKU %(s)s (alias library).")
                           if resolution.alias_source == "library" else
                           _("“%(a)s” was read as catalog SKU %(s)s."))
                issues.append(Issue("sku.alias", "sku", message % {"a": sku_text[:100], "s": sku.part_number}, INFO))
            if (sku.license_type in ("subscription", "maintenance") and not sku.term_months
                    and not (p["start_date"] and p["end_date"])):
                issues.append(Issue("sku.term_missing", "start_date",
                                    _("%(s)s is sold as %(t)s but has no term; give a start and end date.")
                                    % {"s": sku.part_number, "t": sku.license_type}))
        publisher = ctx.product_publisher.get(sku.product_id) if sku is not None else None

        contract = None
        number = p["contract_number"]
        if not number:
            if rules.require_contract:
                issues.append(Issue("contract.missing", "contract_number", _("The line names no contract.")))
        else:
            contract = ctx.contracts.get(number.upper())
            if contract is None:
                issues.append(Issue("contract.unknown", "contract_number",
                                    _("No contract has the number “%(n)s”.") % {"n": number[:100]}))
            else:
                if contract.publisher_id:
                    if publisher is not None:
                        mismatch = publisher[0] != contract.publisher_id
                    else:
                        mismatch = bool(p["publisher"]) and p["publisher"].lower() != contract.publisher.name.lower()
                    if mismatch:
                        issues.append(Issue("contract.publisher_mismatch", "contract_number",
                                            _("Contract %(n)s is with %(c)s, the product is from %(p)s.")
                                            % {"n": contract.number, "c": contract.publisher.name,
                                               "p": publisher[1] if publisher else p["publisher"]}))
                day = p["order_date"] or p["invoice_date"]
                if day and ((contract.start_date and day < contract.start_date)
                            or (contract.end_date and day > contract.end_date)):
                    issues.append(Issue("contract.outside_term", "order_date",
                                        _("Ordered on %(d)s, outside contract %(n)s (%(s)s to %(e)s).")
                                        % {"d": day, "n": contract.number, "s": contract.start_date or "…",
                                           "e": contract.end_date or "…"}))

        if not p["cost_center"] and rules.require_cost_center:
            issues.append(Issue("cost_center.missing", "cost_center", _("The line names no cost center.")))
        if p["cost_center"] and p["cost_center"].upper() not in ctx.cost_centers:
            issues.append(Issue("cost_center.unknown", "cost_center",
                                _("No cost center has the code “%(c)s”.") % {"c": p["cost_center"][:64]}))
        email = p["requester_email"].lower()
        if email and EMAIL.match(email):
            if email not in ctx.person_active:
                issues.append(Issue("email.unknown", "requester_email",
                                    _("No person has the e-mail address %(e)s.") % {"e": email[:100]}))
            elif not ctx.person_active[email]:
                issues.append(Issue("email.inactive", "requester_email",
                                    _("%(e)s belongs to an inactive person.") % {"e": email[:100]}))

        po_key = _po_key(p["po_number"], p["po_line"])
        if po_key is not None:
            first = ctx.po_first.get(po_key)
            if (first is not None and (line_id is None or first < line_id)) or (po_key in seen and seen[po_key] != me):
                issues.append(Issue("duplicate.po_line", "po_line", _("PO %(p)s line %(l)s was received before.")
                                    % {"p": po_key[0][:60], "l": po_key[1][:20]}))
            else:
                seen.setdefault(po_key, me)
        inv_key = _invoice_key(p["invoice_number"], sku_text, p["quantity"], p["unit_price"]) if not p["po_line"] else None
        if inv_key is not None:
            first = ctx.invoice_first.get(inv_key)
            if (first is not None and (line_id is None or first < line_id)) or (inv_key in seen and seen[inv_key] != me):
                issues.append(Issue("duplicate.invoice_line", "invoice_number",
                                    _("The same line of invoice %(i)s was received before.") % {"i": inv_key[0][:60]}))
            else:
                seen.setdefault(inv_key, me)

        issues = [Issue(i.code, i.column, str(i.message),
                        INFO if i.code in INFORMATIONAL else WARNING if i.code in rules.warnings else ERROR)
                  for i in issues]
        quantity, price = p["quantity"], p["unit_price"]
        columns = {
            "sku": sku_text[:100], "description": p["description"][:300], "publisher": p["publisher"][:200],
            "po_number": p["po_number"][:100], "po_line": p["po_line"][:32], "invoice_number": p["invoice_number"][:100],
            "supplier": p["supplier"][:200], "contract_number": number[:100], "cost_center": p["cost_center"][:64],
            "requester_email": p["requester_email"][:254], "quantity": quantity, "unit_price": price,
            "currency": p["currency"], "order_date": p["order_date"],
            "amount": (quantity * price).quantize(TWO_PLACES) if quantity is not None and price is not None else None,
            "resolved_sku": sku.part_number[:100] if sku is not None else "",
            "product_id": sku.product_id if sku is not None else None,
        }
        checked = Checked(columns=columns, issues=issues)
        if checked.passes and sku is not None and quantity is not None:
            checked.entitlement = entitlement_row(p=p, sku=sku, contract=contract, rules=rules)
        out.append(checked)
    return out


def entitlement_row(*, p: dict[str, Any], sku: Any, contract: Any, rules: Rules) -> dict[str, Any]:
    """The entitlement a clean line becomes (without ``purchase_line``, which the transfer adds).

    Total units are the line's quantity times the SKU's units (a 2-core pack bought once is 2 cores).
    A subscription or maintenance runs from the line's start date (else the order or invoice date)
    for the SKU's term, unless the line gives its own end date.
    """
    kind = "maintenance" if sku.license_type == "maintenance" else "license"
    timed = sku.license_type in ("subscription", "maintenance")
    start = p["start_date"] or p["order_date"] or p["invoice_date"]
    end = p["end_date"]
    if end is None and timed and sku.term_months and start:
        end = add_months(start, int(sku.term_months)) - dt.timedelta(days=1)
    return {
        "type": kind, "product_id": sku.product_id, "sku": sku.part_number, "license_model": sku.license_model,
        "quantity": p["quantity"], "units": sku.units,
        "term": "subscription" if sku.license_type == "subscription" else "perpetual",
        "start_date": start, "end_date": end, "unit_cost": p["unit_price"], "currency": p["currency"],
        "contract": contract, "invoice_number": p["invoice_number"][:100], "po_number": p["po_number"][:100],
        "supplier": p["supplier"][:200], "cost_center": p["cost_center"][:64],
    }


def reason_label(code: str) -> str:
    entry = REASONS.get(code)
    return str(entry[1]) if entry else code


def codes_of(items: Iterable[dict]) -> list[str]:
    return [i.get("code", "") for i in items or []]
