"""Stage 2 of the recompute: license assignment, quantities and confirmation, in memory.

Input: the technical foundations per (consumer, product) from ``foundations.technical_foundations``.
Output: the desired requirement rows, keyed by (consumer_key, product_id), with their foundations
and consolidation links. Nothing here touches the database; ``engine`` writes the difference.

Licensing rules implemented (the license-assignment table of the reference, docs/engine.md):

================  ==================  ==========================================================
assignment        technical consumer  consumer of the effective requirement
================  ==================  ==========================================================
device (+ second  physical computer   itself
copy)             virtual computer    its relevant hosts (current one and every earlier host it
                                      left less than the minimum entitlement period ago)
                  mobile device       itself
                  person              the person's physical computers and mobile devices
named user        computer / mobile   its principal user
                  person              itself
OSE               any device          itself
                  person              the person's computers and mobile devices
none              any                 itself
================  ==================  ==========================================================

The technical requirement that the table moves elsewhere stays, marked secondary (quantity 0),
linked through ``consolidated_into`` to the requirements that carry it; those get a
CONSOLIDATION (from a VM) or ASSIGNMENT foundation naming it. A consumer the table needs but the
data lacks (VM without a known host, computer without a principal user) gives a requirement with
an ``error``, never a silently dropped one.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal
from typing import Any

from catalog.models import Assignment, Confirmation, Rounding
from inventory.models import DeviceKind, DeviceRole
from requirements_engine.catalog_inputs import (
    ExpressionError,
    LicenseModelRule,
    ProductRule,
    evaluate,
    names_used,
)
from requirements_engine.foundations import Estate, ExistingFoundation, FKey, Found, Key
from requirements_engine.models import ConfirmationState, FoundationKind

ZERO = Decimal(0)
FOUR_PLACES = Decimal("0.0001")

ERR_NO_MODEL = "product has no license model"
ERR_NO_HOST = "virtual machine has no known host"
ERR_NO_RELEVANT_HOST = "virtual machine has no relevant host"
ERR_NO_USER = "computer has no principal user"
ERR_USER_INACTIVE = "principal user is not active"
ERR_NO_DEVICES = "person has no relevant computer or mobile device"


@dataclass(slots=True)
class ExistingRequirement:
    id: int
    manual: bool
    values: tuple  # see ``Desired.values``
    confirmation: str
    confirmed_by: str
    confirmed_at: dt.datetime | None


@dataclass(slots=True)
class Desired:
    """One requirement of the desired state."""

    consumer_key: str
    product_id: int
    founds: dict[FKey, Found] = field(default_factory=dict)
    secondary: bool = False
    error: str = ""
    note: str = ""
    booked: bool = False
    targets: list[str] = field(default_factory=list)
    license_model: str = ""
    quantity: Decimal = ZERO
    expression: str = ""
    expression_values: dict[str, Any] = field(default_factory=dict)
    core_factor: Decimal | None = None
    effective: bool = True
    confirmation: str = ConfirmationState.UNCONFIRMED
    confirmed_by: str = ""
    confirmed_at: dt.datetime | None = None

    @property
    def key(self) -> Key:
        return (self.consumer_key, self.product_id)

    def values(self) -> tuple:
        """The written values, in the order of ``VALUE_FIELDS`` (compared to decide what to write)."""
        return (self.license_model, self.quantity, self.expression, self.expression_values, self.core_factor,
                self.error, self.effective, self.confirmation, self.confirmed_by, self.confirmed_at,
                self.secondary, self.note)


VALUE_FIELDS = ("license_model", "quantity", "expression", "expression_values", "core_factor", "error",
                "effective", "confirmation", "confirmed_by", "confirmed_at", "is_secondary", "note")


def _plain(value: Any) -> Any:
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, Decimal):
        return str(value.normalize()) if value == value.to_integral_value() else str(value)
    return value


def consumer_facts(estate: Estate, consumer_key: str,
                   lookup: Callable[[str, int | None], tuple[Decimal | None, int | None]]) -> dict[str, Any]:
    """The facts a quantity expression may use, for one consumer (unknown values stay None)."""
    kind, _sep, raw = consumer_key.partition(":")
    if kind == "p":
        return {"is_virtual": False, "is_server": False}
    d = estate.devices[int(raw)]
    core_factor, pvu = lookup(d.processor_model, d.processors) if d.processor_model else (None, None)
    return {
        "processors": d.processors,
        "cores": d.processors * d.cores_per_processor
        if d.processors is not None and d.cores_per_processor is not None else None,
        "cores_per_processor": d.cores_per_processor,
        "threads": d.threads,
        "vcpus": d.vcpus,
        "ram_gb": d.ram_gb,
        "is_virtual": d.kind == DeviceKind.VIRTUAL,
        "is_server": d.role == DeviceRole.SERVER,
        "core_factor": Decimal(str(core_factor)) if core_factor is not None else None,
        "pvu_per_core": pvu,
    }


class Planner:
    """Turns technical foundations into the desired requirements of one run."""

    def __init__(self, *, estate: Estate, rules: dict[int, ProductRule], models: dict[str, LicenseModelRule],
                 lookup: Callable[[str, int | None], tuple[Decimal | None, int | None]], as_of: dt.date,
                 existing_foundations: dict[Key, dict[FKey, ExistingFoundation]],
                 existing_requirements: dict[Key, ExistingRequirement]):
        self.estate = estate
        self.rules = rules
        self.models = models
        self.lookup = lookup
        self.as_of = as_of
        self.old_founds = existing_foundations
        self.old_reqs = existing_requirements
        self.manual_keys = {k for k, r in existing_requirements.items() if r.manual}
        self.desired: dict[Key, Desired] = {}
        # Many consumers share the same hardware: evaluate each (expression, facts used) once.
        self._facts: dict[str, dict[str, Any]] = {}
        self._names: dict[str, tuple[str, ...] | ExpressionError] = {}
        self._values: dict[tuple, Decimal | ExpressionError] = {}

    # --- helpers ---------------------------------------------------------------------------------
    def model_of(self, product_id: int) -> LicenseModelRule | None:
        rule = self.rules.get(product_id)
        return self.models.get(rule.default_license_model) if rule and rule.default_license_model else None

    def period(self, product_id: int) -> int:
        rule = self.rules.get(product_id)
        return rule.min_entitlement_days if rule else 0

    def entry(self, key: Key) -> Desired:
        found = self.desired.get(key)
        if found is None:
            found = self.desired[key] = Desired(consumer_key=key[0], product_id=key[1])
        return found

    def derived(self, target: Key, kind: str, source_key: str, source: str, last_true: dt.date) -> Found:
        old = self.old_founds.get(target, {}).get((kind, source_key))
        first = min(old.first_seen, self.as_of) if old and old.first_seen else self.as_of
        return Found(kind, source_key, source[:300], first, last_true, True)

    def relevant_hosts(self, vm_id: int, product_id: int) -> tuple[list[tuple[int, dt.date | None]], str]:
        """The hosts a VM's device license lands on: the current placement and every earlier host the
        VM left less than the product's minimum entitlement period ago (judged on as_of)."""
        rows = [r for r in self.estate.placements.get(vm_id, []) if r[1] is None or r[1] <= self.as_of]
        if not rows:
            return [], ERR_NO_HOST
        period = self.period(product_id)
        hosts: dict[int, dt.date | None] = {}
        for host_id, _start, end in rows:
            if end is None or end >= self.as_of:
                left = None
            elif (self.as_of - end).days < period:
                left = end
            else:
                continue
            host = self.estate.devices.get(host_id)
            if host is None or not host.relevant:
                continue
            if host_id in hosts and (hosts[host_id] is None or (left is not None and left <= hosts[host_id])):
                continue
            hosts[host_id] = left
        if not hosts:
            return [], ERR_NO_RELEVANT_HOST
        return sorted(hosts.items(), key=lambda h: (self.estate.devices[h[0]].name, h[0])), ""

    def person_devices(self, person_id: int, *, kinds: tuple[str, ...] | None) -> list[int]:
        return [d for d in self.estate.devices_of_person.get(person_id, [])
                if self.estate.devices[d].relevant and (kinds is None or self.estate.devices[d].kind in kinds)]

    # --- the assignment table --------------------------------------------------------------------
    def assign(self, e: Desired, model: LicenseModelRule) -> None:
        kind, _sep, raw = e.consumer_key.partition(":")
        cid = int(raw)
        assignment = model.assignment
        if assignment == Assignment.NONE or (assignment == Assignment.OSE and kind == "d") or (
                assignment == Assignment.NAMED_USER and kind == "p"):
            return  # the consumer as found (the common cases first: no label needed)
        if assignment in (Assignment.DEVICE, Assignment.DEVICE_SECOND_COPY) and kind == "d" and \
                self.estate.devices[cid].kind != DeviceKind.VIRTUAL:
            return  # physical computer / mobile device: itself
        label = self.estate.label(e.consumer_key)
        if assignment in (Assignment.DEVICE, Assignment.DEVICE_SECOND_COPY):
            if kind == "d":
                hosts, error = self.relevant_hosts(cid, e.product_id)
                if error:
                    e.error = error
                    return
                for host_id, left in hosts:
                    source = f"virtual machine {label}" + (f" (left this host {left.isoformat()})" if left else "")
                    self.link(e, f"d:{host_id}", FoundationKind.CONSOLIDATION, f"vm:{cid}", source, left or self.as_of)
                e.note = "consolidated into host " + ", ".join(self.estate.label(f"d:{h}") for h, _l in hosts)
                return
            # person: the person's physical computers and mobile devices
            devices = self.person_devices(cid, kinds=(DeviceKind.PHYSICAL, DeviceKind.MOBILE))
            if not devices:
                e.error = ERR_NO_DEVICES
                return
            for device_id in devices:
                self.link(e, f"d:{device_id}", FoundationKind.ASSIGNMENT, f"person:{cid}", f"person {label}",
                          self.as_of)
            e.note = "licensed on " + ", ".join(self.estate.label(f"d:{d}") for d in devices)
        elif assignment == Assignment.NAMED_USER:
            if kind == "p":
                return  # person: itself
            device = self.estate.devices[cid]
            user = self.estate.persons.get(device.primary_user_id) if device.primary_user_id else None
            if device.primary_user_id is None:
                e.error = ERR_NO_USER
                return
            if user is None or not user.relevant:
                e.error = ERR_USER_INACTIVE
                return
            self.link(e, f"p:{user.id}", FoundationKind.ASSIGNMENT, f"device:{cid}", f"computer {label}", self.as_of)
            e.note = f"licensed for principal user {user.username}"
        elif assignment == Assignment.OSE:
            if kind == "d":
                return  # every operating system environment, physical or virtual: itself
            devices = self.person_devices(cid, kinds=None)
            if not devices:
                e.error = ERR_NO_DEVICES
                return
            for device_id in devices:
                self.link(e, f"d:{device_id}", FoundationKind.ASSIGNMENT, f"person:{cid}", f"person {label}",
                          self.as_of)
            e.note = "licensed on " + ", ".join(self.estate.label(f"d:{d}") for d in devices)
        # Assignment.NONE: the consumer as found.

    def link(self, e: Desired, target_ck: str, kind: str, source_key: str, source: str, last_true: dt.date) -> None:
        target_key = (target_ck, e.product_id)
        e.secondary = True
        e.targets.append(target_ck)
        if target_key in self.manual_keys:
            return  # a manual requirement carries it as it is; the engine never writes to it
        target = self.entry(target_key)
        target.founds[(kind, source_key)] = self.derived(target_key, kind, source_key, source, last_true)
        target.booked = target.booked or e.booked

    # --- second copy -----------------------------------------------------------------------------
    def second_copy(self) -> None:
        """Device with second copy: a portable device (laptop or mobile) whose principal user already
        holds the product on a non-portable relevant device needs no license of its own."""
        groups: dict[tuple[int, int], list[Desired]] = {}
        for e in self.desired.values():
            model = self.model_of(e.product_id)
            rule = self.rules.get(e.product_id)
            if model is None or e.secondary or e.error or not e.consumer_key.startswith("d:"):
                continue
            if not (model.assignment == Assignment.DEVICE_SECOND_COPY
                    or (model.assignment == Assignment.DEVICE and rule is not None and rule.second_copy)):
                continue
            device = self.estate.devices[int(e.consumer_key[2:])]
            if device.primary_user_id is not None and device.relevant:
                groups.setdefault((e.product_id, device.primary_user_id), []).append(e)
        for (_pid, user_id), entries in sorted(groups.items()):
            def name(x: Desired) -> tuple[str, str]:
                return (self.estate.label(x.consumer_key), x.consumer_key)

            fixed = sorted((x for x in entries if not self.estate.devices[int(x.consumer_key[2:])].portable), key=name)
            portable = [x for x in entries if self.estate.devices[int(x.consumer_key[2:])].portable]
            if not fixed:
                continue
            user = self.estate.persons.get(user_id)
            for x in portable:
                x.secondary = True
                x.targets = [fixed[0].consumer_key]
                x.note = (f"second copy of {self.estate.label(fixed[0].consumer_key)}"
                          f" (principal user {user.username if user else user_id})")

    # --- quantity and confirmation ---------------------------------------------------------------
    def quantify(self, e: Desired) -> None:
        model = self.model_of(e.product_id)
        if model is None:
            e.error, e.effective, e.quantity = ERR_NO_MODEL, False, ZERO
            e.license_model = self.rules[e.product_id].default_license_model if e.product_id in self.rules else ""
            return
        e.license_model = model.name
        e.effective = model.effective
        if e.secondary or e.error:
            e.quantity = ZERO  # carried by others, or not computable: counts nothing itself
            return
        e.expression = model.quantity
        if not model.effective:
            # Ineffective license model: the requirement is tracked but needs no entitlement.
            e.quantity = ZERO
            return
        facts = self._facts.get(e.consumer_key)
        if facts is None:
            facts = self._facts[e.consumer_key] = consumer_facts(self.estate, e.consumer_key, self.lookup)
        if facts.get("core_factor") is not None:
            e.core_factor = facts["core_factor"]
        names = self._names.get(model.quantity)
        if names is None:
            try:
                names = tuple(sorted(names_used(model.quantity)))
            except ExpressionError as exc:
                names = exc
            self._names[model.quantity] = names
        if isinstance(names, ExpressionError):
            value: Decimal | ExpressionError = names
        else:
            e.expression_values = {n: _plain(facts[n]) for n in names if facts.get(n) is not None}
            cache_key = (model.quantity, tuple(facts.get(n) for n in names))
            value = self._values.get(cache_key)
            if value is None:
                try:
                    value = evaluate(model.quantity, facts)
                except ExpressionError as exc:
                    value = exc
                self._values[cache_key] = value
        if isinstance(value, ExpressionError):
            # Missing data gives an error on the requirement, never a guessed number.
            e.error = f"quantity cannot be computed: {value}"[:300]
            e.quantity = ZERO
            return
        value = max(value, ZERO)
        if model.rounding == Rounding.POSITION:
            # Oracle-style: keep fractions; the balance rounds per position and core factor.
            e.quantity = value.quantize(FOUR_PLACES, rounding=ROUND_HALF_UP)
        else:
            e.quantity = value.to_integral_value(rounding=ROUND_CEILING)

    def confirm(self, e: Desired) -> None:
        old = self.old_reqs.get(e.key)
        if old is not None and old.confirmed_by:
            # A license manager's decision (confirmed, or not authorised) is kept across recomputes.
            e.confirmation, e.confirmed_by, e.confirmed_at = old.confirmation, old.confirmed_by, old.confirmed_at
            return
        rule = self.rules.get(e.product_id)
        automatic = rule is None or rule.confirmation == Confirmation.AUTOMATIC
        # Confirmation mode automatic, or an approved service booking behind it: confirmed.
        e.confirmation = ConfirmationState.CONFIRMED if automatic or e.booked else ConfirmationState.UNCONFIRMED

    # --- the run ---------------------------------------------------------------------------------
    def plan(self, technical: dict[Key, dict[FKey, Found]], booked: set[Key]) -> dict[Key, Desired]:
        for key in sorted(technical):
            if key in self.manual_keys:
                continue  # manual requirements are never touched; their consumer is not checked
            e = self.entry(key)
            e.founds.update(technical[key])
            e.booked = e.booked or key in booked
        for key in sorted(technical):
            if key in self.manual_keys:
                continue
            e = self.desired[key]
            model = self.model_of(key[1])
            if model is not None:
                self.assign(e, model)
        self.second_copy()
        for key in sorted(self.desired):
            e = self.desired[key]
            e.targets = sorted(set(e.targets))
            self.quantify(e)
            self.confirm(e)
        return self.desired
