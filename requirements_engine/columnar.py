"""The requirement stages as columnar operations (Polars): read → foundations → assignment → write.

No Python object or dict entry per installation, foundation or requirement: the inputs are read
as columns (``frames.read``: ``COPY`` on PostgreSQL, the cursor on SQLite), every rule of
``foundations`` / ``requirements`` (docs/engine.md) is a join, filter or group-by over frames keyed
by ``ck`` (the consumer key ``d:<id>`` / ``p:<id>``) and ``pid`` (the product), and the difference
to the stored rows is written with one statement per table and kind (``frames``: COPY for new rows,
``UPDATE ... FROM`` a temporary table for changed ones, one ``DELETE`` for stale ones).
Python runs per *distinct* value only: the quantity expression once per (expression, hardware
facts) combination (``simpleeval`` via ``catalog.expressions``), the processor table once per
(processor model, sockets), the configuration keys once per rule.

Foundations: see the rules in ``foundations`` (relevance, configuration, minimum entitlement period).

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
import json
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal
from typing import Any

import polars as pl
from django.db import transaction
from django.utils import timezone

from catalog.models import Assignment, Classification, Rounding
from inventory.models import (
    BookingStatus,
    Device,
    Fingerprint,
    Group,
    GroupMembership,
    Installation,
    Person,
    RemoteUsage,
    ServiceBooking,
    VmPlacement,
)
from inventory.selectors import relevant_statuses
from requirements_engine import frames
from requirements_engine.catalog_inputs import ExpressionError, evaluate, names_used
from requirements_engine.frames import BOOL, DATE, FLOAT, INT, STR
from requirements_engine.models import ConfirmationState, Foundation, FoundationKind, Requirement
from sam.models import Tenant

ERR_NO_MODEL = "product has no license model"
ERR_NO_HOST = "virtual machine has no known host"
ERR_NO_RELEVANT_HOST = "virtual machine has no relevant host"
ERR_NO_USER = "computer has no principal user"
ERR_USER_INACTIVE = "principal user is not active"
ERR_NO_DEVICES = "person has no relevant computer or mobile device"

TECHNICAL = [FoundationKind.INSTALLATION.value, FoundationKind.GROUP.value, FoundationKind.REMOTE.value,
             FoundationKind.BOOKING.value]
KEY = ["ck", "pid"]
FKEY = ["ck", "pid", "kind", "sk"]
FOUND_COLS = ["ck", "pid", "kind", "sk", "source", "first_seen", "last_true"]

VALUE_COLS = ["license_model", "quantity", "expression", "expression_values", "core_factor", "error", "effective",
              "confirmation", "confirmed_by", "confirmed_at", "is_secondary", "note"]


def _days(col: str, as_of: dt.date) -> pl.Expr:
    """``(as_of - col).days`` (col a date column)."""
    return (pl.lit(as_of) - pl.col(col)).dt.total_days()


def _ck(prefix: str, col: str) -> pl.Expr:
    return pl.concat_str([pl.lit(prefix), pl.col(col).cast(pl.String)])


def _label_sorted_join(frame: pl.DataFrame, group: list[str], label: str, sort: list[str], out: str,
                       prefix: str) -> pl.DataFrame:
    """One string per group: ``prefix`` + labels joined by ", " in ``sort`` order."""
    return (frame.sort(sort).group_by(group, maintain_order=True)
            .agg(pl.col(label).str.join(", ").alias(out))
            .with_columns(pl.concat_str([pl.lit(prefix), pl.col(out)]).alias(out)))


# --- the estate ---------------------------------------------------------------------------------


class Inputs:
    """The estate and configuration of one run, as frames."""

    def __init__(self, *, tenant: Tenant, scope, links, as_of: dt.date):
        self.as_of = as_of
        devices = scope.device_ids if scope.by_consumer else None
        persons = scope.person_ids if scope.by_consumer else None
        statuses = set(relevant_statuses(tenant=tenant))
        dev = frames.read_in(Device.objects.all(), "id", devices, {
            "id": INT, "name": STR, "kind": STR, "role": STR, "status": STR, "power": STR, "primary_user_id": INT,
            "processors": INT, "cores_per_processor": INT, "threads": INT, "vcpus": INT, "processor_model": STR,
            "ram_gb": STR})
        # Relevance: a relevant asset status and, for a server, power on (a powered-off server needs none).
        folded = (pl.col("status").fill_null("").str.to_lowercase().str.replace_all(r"\s+", " ")
                  .str.strip_chars())
        self.devices = dev.with_columns(
            _ck("d:", "id").alias("ck"),
            (folded.is_in(sorted(statuses)) & ((pl.col("role") != "server")
                                               | (pl.col("power").fill_null("").str.strip_chars()
                                                  .str.to_lowercase() == "on"))).alias("relevant"),
            pl.when(pl.col("primary_user_id").is_null()).then(None)
            .otherwise(_ck("p:", "primary_user_id")).alias("user_ck"),
            ((pl.col("role") == "laptop") | (pl.col("kind") == "mobile")).alias("portable"),
            pl.col("name").fill_null(""), pl.col("processor_model").fill_null(""),
        )
        per = frames.read_in(Person.objects.all(), "id", persons, {"id": INT, "username": STR, "status": STR})
        # A person is relevant for licensing while active.
        self.persons = per.with_columns(_ck("p:", "id").alias("ck"), (pl.col("status") == "active").alias("relevant"))
        self.consumers = pl.concat([
            self.devices.select("ck", pl.col("name").alias("label"), "relevant", pl.lit(True).alias("is_device"),
                                pl.col("id").alias("cid")),
            self.persons.select("ck", pl.col("username").fill_null("").alias("label"), "relevant",
                                pl.lit(False).alias("is_device"), pl.col("id").alias("cid")),
        ])
        self.placements = frames.read_in(VmPlacement.objects.all(), "vm_id", devices, {
            "vm_id": INT, "host_id": INT, "valid_from": DATE, "valid_to": DATE})
        self.scope = scope
        self.links = links
        self.tenant = tenant

    def observe(self) -> tuple[pl.DataFrame, pl.DataFrame]:
        """Foundations whose condition holds today (ck, pid, kind, sk, source) and the booked keys."""
        scope, links = self.scope, self.links
        products = sorted(scope.product_ids) if scope.product_ids is not None else None
        devices = scope.device_ids if scope.by_consumer else None
        persons = scope.person_ids if scope.by_consumer else None
        relevant = self.consumers.filter(pl.col("relevant")).select("ck")
        parts: list[pl.DataFrame] = []

        # Local installation: an installation whose fingerprint is assigned to a product.
        fps = frames.read(Fingerprint.objects.filter(classification=Classification.PRODUCT, product__isnull=False),
                          {"fp": INT, "pid": INT, "publisher": STR, "name": STR, "version": STR},
                          ["id", "product_id", "publisher", "name", "version"])
        self.fingerprints = fps.select("fp", "pid")
        fp_label = _fp_labels(fps)
        inst = Installation.objects.filter(fingerprint__classification=Classification.PRODUCT,
                                           fingerprint__product__isnull=False)
        if products is not None:
            inst = inst.filter(fingerprint__product_id__in=products)
        rows = frames.read_in(inst, "device_id", devices, {"device_id": INT, "fp": INT},
                              ["device_id", "fingerprint_id"])
        parts.append(rows.with_columns(_ck("d:", "device_id").alias("ck"))
                     .join(relevant, on="ck", how="semi")
                     .join(fp_label, on="fp", how="inner")
                     .select("ck", "pid", pl.lit(FoundationKind.INSTALLATION.value).alias("kind"),
                             pl.concat_str([pl.lit("fp:"), pl.col("fp").cast(pl.String)]).alias("sk"),
                             pl.col("source").str.slice(0, 300)))

        # Group membership: a relevant member (person or device) of a group assigned to a product.
        groups = frames.read(Group.objects.all(), {"gid": INT, "gname": STR}, ["id", "name"])
        group_links = pl.DataFrame({"key": list(links.group), "pids": list(links.group.values())},
                                   schema={"key": pl.String, "pids": pl.List(pl.Int64)}).explode("pids")
        self.group_products = (groups.with_columns(pl.col("gname").str.strip_chars().str.to_lowercase().alias("key"))
                                .join(group_links.rename({"pids": "pid"}), on="key", how="inner")
                                .select("gid", "gname", "pid"))
        gp = self.group_products
        if products is not None:
            gp = gp.filter(pl.col("pid").is_in(products))
        if gp.height:
            ms = GroupMembership.objects.filter(group_id__in=sorted(set(gp["gid"].to_list())))
            cols = {"gid": INT, "person_id": INT, "device_id": INT}
            fields = ["group_id", "person_id", "device_id"]
            if scope.by_consumer:
                mem = pl.concat([frames.read_in(ms, "person_id", persons or (), cols, fields),
                                 frames.read_in(ms, "device_id", devices or (), cols, fields)])
            else:
                mem = frames.read(ms, cols, fields)
            parts.append(mem.with_columns(
                pl.when(pl.col("person_id").is_not_null()).then(_ck("p:", "person_id"))
                .otherwise(_ck("d:", "device_id")).alias("ck"))
                .join(relevant, on="ck", how="semi").join(gp, on="gid", how="inner")
                .select("ck", "pid", pl.lit(FoundationKind.GROUP.value).alias("kind"),
                        pl.concat_str([pl.lit("group:"), pl.col("gid").cast(pl.String)]).alias("sk"),
                        pl.concat_str([pl.lit("group "), pl.col("gname")]).str.slice(0, 300).alias("source")))

        def keyed(mapping: dict[str, list[int]]) -> pl.DataFrame:
            out = pl.DataFrame({"key": list(mapping), "pid": list(mapping.values())},
                               schema={"key": pl.String, "pid": pl.List(pl.Int64)}).explode("pid")
            return out.filter(pl.col("pid").is_in(products)) if products is not None else out

        # Remote usage: a relevant person ran an assigned executable on a host.
        if links.executable:
            usage = frames.read_in(RemoteUsage.objects.all(), "person_id", persons, {
                "person_id": INT, "host_id": INT, "host_name": STR, "exe": STR},
                ["person_id", "host_id", "host__name", "executable"])
            parts.append(usage.with_columns(_ck("p:", "person_id").alias("ck"),
                                            pl.col("exe").str.strip_chars().str.to_lowercase().alias("key"))
                         .join(relevant, on="ck", how="semi").join(keyed(links.executable), on="key", how="inner")
                         .select("ck", "pid", pl.lit(FoundationKind.REMOTE.value).alias("kind"),
                                 pl.concat_str([pl.lit("exe:"), pl.col("key"), pl.lit("@"),
                                                pl.col("host_id").cast(pl.String)]).alias("sk"),
                                 pl.concat_str([pl.col("exe"), pl.lit(" on "), pl.col("host_name").fill_null("")])
                                 .str.slice(0, 300).alias("source")))
        booked = pl.DataFrame(schema={"ck": pl.String, "pid": pl.Int64})
        # Service booking: an approved booking of an assigned service (it also confirms).
        if links.service:
            bookings = frames.read_in(ServiceBooking.objects.filter(status=BookingStatus.APPROVED), "person_id",
                                      persons, {"person_id": INT, "service": STR}, ["person_id", "service"])
            found = (bookings.with_columns(_ck("p:", "person_id").alias("ck"),
                                           pl.col("service").str.strip_chars().str.to_lowercase().alias("key"))
                     .join(relevant, on="ck", how="semi").join(keyed(links.service), on="key", how="inner")
                     .select("ck", "pid", pl.lit(FoundationKind.BOOKING.value).alias("kind"),
                             pl.concat_str([pl.lit("service:"), pl.col("key")]).alias("sk"),
                             pl.concat_str([pl.lit("service "), pl.col("service")]).str.slice(0, 300).alias("source")))
            parts.append(found)
            booked = found.select(KEY).unique()
        observed = pl.concat(parts).unique(subset=FKEY, keep="last", maintain_order=True)
        return observed, booked

    def configured(self) -> pl.DataFrame:
        """(kind, key, pid) of every configuration that links a source to a product today."""
        links = self.links
        rows = [self.fingerprints.select(pl.lit(FoundationKind.INSTALLATION.value).alias("kind"),
                                         pl.col("fp").cast(pl.String).alias("key"), "pid"),
                self.group_products.select(pl.lit(FoundationKind.GROUP.value).alias("kind"),
                                           pl.col("gid").cast(pl.String).alias("key"), "pid")]
        for kind, mapping in ((FoundationKind.REMOTE.value, links.executable),
                              (FoundationKind.BOOKING.value, links.service),
                              (FoundationKind.COLLATERAL.value, {str(k): v for k, v in links.dependency.items()})):
            rows.append(pl.DataFrame({"kind": [kind] * len(mapping), "key": list(mapping),
                                      "pid": list(mapping.values())},
                                     schema={"kind": pl.String, "key": pl.String, "pid": pl.List(pl.Int64)})
                        .explode("pid"))
        return pl.concat(rows).unique()


def _fp_labels(fps: pl.DataFrame) -> pl.DataFrame:
    # " ".join(p for p in (publisher, name, version) if p): empty parts are skipped, others kept as they are.
    return fps.select("fp", "pid", pl.concat_str(
        [pl.when(pl.col(c).fill_null("") == "").then(None).otherwise(pl.col(c)) for c in ("publisher", "name",
                                                                                        "version")],
        separator=" ", ignore_nulls=True).fill_null("").alias("source"))


def _source_key(frame: pl.DataFrame) -> pl.DataFrame:
    """The configuration key inside a foundation's source key (``fp:12`` → ``12``, ``exe:x.exe@5`` → ``x.exe``)."""
    return frame.with_columns(
        pl.when(pl.col("kind") == FoundationKind.REMOTE.value)
        .then(pl.col("sk").str.replace(r"^exe:", "").str.replace(r"@[^@]*$", ""))
        .otherwise(pl.col("sk").str.replace(r"^[^:]*:", "")).alias("key"))


# --- stored state -------------------------------------------------------------------------------


def stored_foundations(*, scope) -> pl.DataFrame:
    base = Foundation.objects.filter(requirement__manual=False)
    cols = {"fid": INT, "ck": STR, "pid": INT, "kind": STR, "sk": STR, "source": STR, "first_seen": DATE,
            "last_true": DATE}
    fields = ["id", "requirement__consumer_key", "requirement__product_id", "kind", "source_key", "source",
              "first_seen", "last_true"]
    if scope.by_consumer:
        return frames.read_in(base, "requirement__consumer_key", scope.consumer_keys(), cols, fields)
    if scope.product_ids is not None:
        return frames.read_in(base, "requirement__product_id", scope.product_ids, cols, fields)
    return frames.read(base, cols, fields)


REQ_COLS = {"id": INT, "ck": STR, "pid": INT, "manual": BOOL, "license_model": STR, "quantity": FLOAT,
            "expression": STR, "expression_values": STR, "core_factor": FLOAT, "error": STR, "effective": BOOL,
            "confirmation": STR, "confirmed_by": STR, "confirmed_at": STR, "is_secondary": BOOL, "note": STR}
REQ_FIELDS = ["id", "consumer_key", "product_id", "manual", "license_model", "quantity", "expression",
              "expression_values", "core_factor", "error", "effective", "confirmation", "confirmed_by",
              "confirmed_at", "is_secondary", "note"]


def stored_requirements(*, scope) -> pl.DataFrame:
    base = Requirement.objects.all()
    if scope.by_consumer:
        out = frames.read_in(base, "consumer_key", scope.consumer_keys(), REQ_COLS, REQ_FIELDS)
    elif scope.product_ids is not None:
        out = frames.read_in(base, "product_id", scope.product_ids, REQ_COLS, REQ_FIELDS)
    else:
        out = frames.read(base, REQ_COLS, REQ_FIELDS)
    return out.with_columns(*(pl.col(c).fill_null("") for c in ("license_model", "expression", "error",
                                                                 "confirmation", "confirmed_by", "note")))


def _canonical_json(frame: pl.DataFrame, col: str) -> pl.DataFrame:
    """Stored JSON text → canonical text (sorted keys), parsed once per distinct value."""
    distinct = frame.select(pl.col(col).unique())[col].to_list()
    mapping = {}
    for text in distinct:
        try:
            mapping[text] = json.dumps(json.loads(text) if text else {}, sort_keys=True)
        except ValueError:
            mapping[text] = text
    return frame.with_columns(pl.col(col).replace_strict(mapping, default=pl.col(col), return_dtype=pl.String))


# --- the plan -----------------------------------------------------------------------------------


class Plan:
    """The desired requirements (``reqs``), their foundations (``founds``) and links (``links``)."""

    def __init__(self, reqs: pl.DataFrame, founds: pl.DataFrame, links: pl.DataFrame):
        self.reqs, self.founds, self.links = reqs, founds, links


def product_frame(rules: dict, models: dict) -> pl.DataFrame:
    """pid → default model and its rule values (one row per product with terms)."""
    rows = []
    for pid, r in rules.items():
        m = models.get(r.default_license_model) if r.default_license_model else None
        rows.append((pid, r.default_license_model or "", r.min_entitlement_days, r.confirmation, r.second_copy,
                     m is not None, m.name if m else "", m.assignment if m else "", m.effective if m else False,
                     m.quantity if m else "", m.rounding if m else ""))
    return pl.DataFrame(rows, orient="row", schema={
        "pid": pl.Int64, "default_model": pl.String, "period": pl.Int64, "confirm_mode": pl.String,
        "second_copy": pl.Boolean, "has_model": pl.Boolean, "model": pl.String, "assignment": pl.String,
        "model_effective": pl.Boolean, "model_expression": pl.String, "rounding": pl.String})


def technical(*, inp: Inputs, observed: pl.DataFrame, old: pl.DataFrame, products: pl.DataFrame,
              labels: dict[int, str], as_of: dt.date) -> pl.DataFrame:
    """Observed foundations plus those kept within the minimum entitlement period, then collateral."""
    period = products.select("pid", "period")
    configured = inp.configured()
    relevant = inp.consumers.filter(pl.col("relevant")).select("ck")
    old_dates = old.select(*FKEY, pl.col("first_seen").alias("old_first"), pl.col("last_true").alias("old_last"))

    def place(frame: pl.DataFrame) -> pl.DataFrame:
        # Holds today: first_seen = min(stored, as_of), last_true = max(stored, as_of).
        return (frame.join(old_dates, on=FKEY, how="left")
                .with_columns(pl.min_horizontal(pl.col("old_first"), pl.lit(as_of)).alias("first_seen"),
                              pl.max_horizontal(pl.col("old_last"), pl.lit(as_of)).alias("last_true"))
                .select(FOUND_COLS))

    def retain(frame: pl.DataFrame) -> pl.DataFrame:
        # Irrelevant consumer or configuration gone: removed at once. Condition gone: kept while
        # as_of - last_true <= the product's minimum entitlement period.
        kept = (_source_key(frame).join(relevant, on="ck", how="semi")
                .join(configured, on=["kind", "key", "pid"], how="semi")
                .join(period, on="pid", how="left")
                .with_columns(pl.col("last_true").fill_null(as_of))
                .filter(_days("last_true", as_of) <= pl.col("period").fill_null(0)))
        return kept.with_columns(pl.min_horizontal(pl.col("first_seen"), pl.lit(as_of)).alias("first_seen")
                                 ).select(FOUND_COLS)

    result = place(observed)
    old_tech = old.filter(pl.col("kind").is_in(TECHNICAL)).join(observed, on=FKEY, how="anti")
    result = pl.concat([result, retain(old_tech)])

    deps = pl.DataFrame({"src": list(inp.links.dependency), "pid": list(inp.links.dependency.values())},
                        schema={"src": pl.Int64, "pid": pl.List(pl.Int64)}).explode("pid")
    if deps.height:
        scope_products = inp.scope.product_ids
        frontier = result.select(KEY).unique()
        seen = pl.DataFrame(schema={"ck": pl.String, "pid": pl.Int64, "sk": pl.String})
        for _round in range(20):
            brought = (frontier.rename({"pid": "src"}).join(deps, on="src", how="inner")
                       .with_columns(pl.concat_str([pl.lit("dep:"), pl.col("src").cast(pl.String)]).alias("sk")))
            if scope_products is not None:
                brought = brought.filter(pl.col("pid").is_in(sorted(scope_products)))
            brought = brought.join(seen, on=["ck", "pid", "sk"], how="anti").unique(subset=["ck", "pid", "sk"])
            if brought.is_empty():
                break
            seen = pl.concat([seen, brought.select("ck", "pid", "sk")])
            new_keys = brought.select(KEY).unique().join(result.select(KEY).unique(), on=KEY, how="anti")
            added = brought.with_columns(
                pl.lit(FoundationKind.COLLATERAL.value).alias("kind"),
                pl.concat_str([pl.lit("required by "),
                               pl.col("src").replace_strict({k: v for k, v in labels.items()},
                                                            default=pl.col("src").cast(pl.String),
                                                            return_dtype=pl.String)]).str.slice(0, 300)
                .alias("source")).select("ck", "pid", "kind", "sk", "source")
            result = pl.concat([result, place(added)])
            if new_keys.is_empty():
                break
            frontier = new_keys
        old_coll = old.filter(pl.col("kind") == FoundationKind.COLLATERAL.value).join(result, on=FKEY, how="anti")
        result = pl.concat([result, retain(old_coll)])
    return result


def plan(*, inp: Inputs, observed: pl.DataFrame, booked: pl.DataFrame, old_founds: pl.DataFrame,
         old_reqs: pl.DataFrame, products: pl.DataFrame, labels: dict[int, str], lookup,
         as_of: dt.date) -> Plan:
    """The desired state of the run's scope (see the module docstring)."""
    tech = technical(inp=inp, observed=observed, old=old_founds, products=products, labels=labels, as_of=as_of)
    manual = old_reqs.filter(pl.col("manual")).select(KEY)
    tech = tech.join(manual, on=KEY, how="anti")
    keys = (tech.select(KEY).unique()
            .join(booked.with_columns(pl.lit(True).alias("booked")), on=KEY, how="left")
            .with_columns(pl.col("booked").fill_null(False))
            .join(products.select("pid", "has_model", "assignment", "period"), on="pid", how="left")
            .with_columns(pl.col("has_model").fill_null(False), pl.col("period").fill_null(0))
            .join(inp.devices.select("ck", pl.col("kind").alias("dkind"), "user_ck"), on="ck", how="left")
            .with_columns(pl.col("ck").str.starts_with("d:").alias("is_device"),
                          pl.col("ck").str.slice(2).cast(pl.Int64).alias("cid")))
    a = pl.col("assignment")
    by_device = a.is_in([Assignment.DEVICE.value, Assignment.DEVICE_SECOND_COPY.value])
    keys = keys.with_columns(
        pl.when(~pl.col("has_model")).then(pl.lit(""))
        .when(by_device & pl.col("is_device") & (pl.col("dkind") == "virtual")).then(pl.lit("vm"))
        .when(by_device & ~pl.col("is_device")).then(pl.lit("person_physical"))
        .when((a == Assignment.NAMED_USER.value) & pl.col("is_device")).then(pl.lit("user"))
        .when((a == Assignment.OSE.value) & ~pl.col("is_device")).then(pl.lit("person_any"))
        .otherwise(pl.lit("")).alias("case"))
    cons = inp.consumers.select("ck", "label", "relevant")
    dev = inp.devices

    derived: list[pl.DataFrame] = []   # target ck, pid, kind, sk, source, last_true, src ck
    errors: list[pl.DataFrame] = []    # ck, pid, error
    notes: list[pl.DataFrame] = []     # ck, pid, note

    # Virtual computer under device assignment: its relevant hosts (current placement and every earlier
    # host it left less than the minimum entitlement period ago).
    vms = keys.filter(pl.col("case") == "vm").select("ck", "pid", "cid", "period")
    if vms.height:
        pl_rows = (inp.placements.filter(pl.col("valid_from").is_null() | (pl.col("valid_from") <= as_of))
                   .rename({"vm_id": "cid"}))
        joined = vms.join(pl_rows, on="cid", how="inner")
        errors.append(vms.join(joined.select(KEY).unique(), on=KEY, how="anti")
                      .select(*KEY, pl.lit(ERR_NO_HOST).alias("error")))
        hosts = (joined.with_columns(
            pl.when(pl.col("valid_to").is_null() | (pl.col("valid_to") >= as_of)).then(pl.lit(0))
            .when(_days("valid_to", as_of) < pl.col("period")).then(pl.lit(1)).otherwise(pl.lit(2)).alias("state"),
            _ck("d:", "host_id").alias("host_ck"))
            .filter(pl.col("state") < 2)
            .join(cons.filter(pl.col("relevant")).rename({"ck": "host_ck", "label": "host_label"}),
                  on="host_ck", how="inner")
            .with_columns(pl.when(pl.col("state") == 0).then(None).otherwise(pl.col("valid_to")).alias("left"))
            .group_by(["ck", "pid", "host_ck", "host_id", "host_label"])
            .agg(pl.col("left").is_null().any().alias("open"), pl.col("left").max().alias("last_left"))
            # Placed there today wins over having left it; of several departures the latest counts.
            .with_columns(pl.when(pl.col("open")).then(None).otherwise(pl.col("last_left")).alias("left")))
        errors.append(joined.select(KEY).unique().join(hosts.select(KEY).unique(), on=KEY, how="anti")
                      .select(*KEY, pl.lit(ERR_NO_RELEVANT_HOST).alias("error")))
        hosts = hosts.join(cons.select("ck", pl.col("label").alias("vm_label")), on="ck", how="left")
        derived.append(hosts.select(
            pl.col("host_ck").alias("target"), "pid", pl.lit(FoundationKind.CONSOLIDATION.value).alias("kind"),
            pl.concat_str([pl.lit("vm:"), pl.col("ck").str.slice(2)]).alias("sk"),
            pl.concat_str([pl.lit("virtual machine "), pl.col("vm_label").fill_null(pl.col("ck")),
                           pl.when(pl.col("left").is_null()).then(pl.lit(""))
                           .otherwise(pl.concat_str([pl.lit(" (left this host "), pl.col("left").dt.strftime("%Y-%m-%d"),
                                                     pl.lit(")")]))]).alias("source"),
            pl.col("left").fill_null(as_of).alias("last_true"), pl.col("ck").alias("src")))
        notes.append(_label_sorted_join(hosts, KEY, "host_label", ["host_label", "host_id"], "note",
                                        "consolidated into host "))

    # A person under device assignment (physical computers and mobile devices) or OSE (any device).
    people = keys.filter(pl.col("case").is_in(["person_physical", "person_any"])).select("ck", "pid", "cid", "case")
    if people.height:
        owned = (dev.filter(pl.col("relevant") & pl.col("user_ck").is_not_null())
                 .select(pl.col("user_ck").alias("ck"), pl.col("ck").alias("dev_ck"), pl.col("id").alias("dev_id"),
                         pl.col("name").alias("dev_label"), pl.col("kind").alias("dkind")))
        matched = (people.join(owned, on="ck", how="inner")
                   .filter((pl.col("case") == "person_any") | pl.col("dkind").is_in(["physical", "mobile"])))
        errors.append(people.join(matched.select(KEY).unique(), on=KEY, how="anti")
                      .select(*KEY, pl.lit(ERR_NO_DEVICES).alias("error")))
        matched = matched.join(cons.select("ck", pl.col("label").alias("person_label")), on="ck", how="left")
        derived.append(matched.select(
            pl.col("dev_ck").alias("target"), "pid", pl.lit(FoundationKind.ASSIGNMENT.value).alias("kind"),
            pl.concat_str([pl.lit("person:"), pl.col("cid").cast(pl.String)]).alias("sk"),
            pl.concat_str([pl.lit("person "), pl.col("person_label").fill_null(pl.col("ck"))]).alias("source"),
            pl.lit(as_of).alias("last_true"), pl.col("ck").alias("src")))
        notes.append(_label_sorted_join(matched, KEY, "dev_label", ["dev_label", "dev_id"], "note", "licensed on "))

    # A computer or mobile device under named user: its principal user.
    users = keys.filter(pl.col("case") == "user").select("ck", "pid", "cid", "user_ck")
    if users.height:
        errors.append(users.filter(pl.col("user_ck").is_null()).select(*KEY, pl.lit(ERR_NO_USER).alias("error")))
        people_state = inp.persons.select(pl.col("ck").alias("user_ck"), pl.col("relevant").alias("user_relevant"),
                                          pl.col("username").fill_null("").alias("username"))
        u = users.filter(pl.col("user_ck").is_not_null()).join(people_state, on="user_ck", how="left")
        errors.append(u.filter(~pl.col("user_relevant").fill_null(False))
                      .select(*KEY, pl.lit(ERR_USER_INACTIVE).alias("error")))
        ok = u.filter(pl.col("user_relevant").fill_null(False)).join(
            cons.select("ck", pl.col("label").alias("dev_label")), on="ck", how="left")
        derived.append(ok.select(
            pl.col("user_ck").alias("target"), "pid", pl.lit(FoundationKind.ASSIGNMENT.value).alias("kind"),
            pl.concat_str([pl.lit("device:"), pl.col("cid").cast(pl.String)]).alias("sk"),
            pl.concat_str([pl.lit("computer "), pl.col("dev_label").fill_null(pl.col("ck"))]).alias("source"),
            pl.lit(as_of).alias("last_true"), pl.col("ck").alias("src")))
        notes.append(ok.select(*KEY, pl.concat_str([pl.lit("licensed for principal user "), pl.col("username")])
                               .alias("note")))

    d_schema = {"target": pl.String, "pid": pl.Int64, "kind": pl.String, "sk": pl.String, "source": pl.String,
                "last_true": pl.Date, "src": pl.String}
    der = pl.concat([d.cast(d_schema) for d in derived]) if derived else pl.DataFrame(schema=d_schema)
    err = (pl.concat(errors).unique(subset=KEY, keep="first") if errors
           else pl.DataFrame(schema={"ck": pl.String, "pid": pl.Int64, "error": pl.String}))
    note = (pl.concat(notes) if notes else pl.DataFrame(schema={"ck": pl.String, "pid": pl.Int64, "note": pl.String}))

    # The consolidation links (every source is secondary, even towards a manual requirement), then the
    # foundations of the carrying requirements (never on a manual one).
    link = der.select(pl.col("src").alias("ck"), "pid", "target").unique()
    der = der.join(manual.rename({"ck": "target"}), on=["target", "pid"], how="anti")
    old_first = old_founds.select(pl.col("ck").alias("target"), "pid", "kind", "sk", pl.col("first_seen").alias("old"))
    der_found = (der.join(old_first, on=["target", "pid", "kind", "sk"], how="left")
                 .with_columns(pl.min_horizontal(pl.col("old"), pl.lit(as_of)).alias("first_seen"),
                               pl.col("source").str.slice(0, 300))
                 .select(pl.col("target").alias("ck"), "pid", "kind", "sk", "source", "first_seen", "last_true"))
    target_booked = (der.join(keys.select(pl.col("ck").alias("src"), "pid", "booked"), on=["src", "pid"], how="left")
                     .filter(pl.col("booked")).select(pl.col("target").alias("ck"), "pid").unique()
                     .with_columns(pl.lit(True).alias("booked_via")))

    founds = pl.concat([tech, der_found]).unique(subset=FKEY, keep="last", maintain_order=True)
    reqs = (founds.select(KEY).unique()
            .join(keys.select(*KEY, "booked"), on=KEY, how="left")
            .join(target_booked, on=KEY, how="left")
            .with_columns((pl.col("booked").fill_null(False) | pl.col("booked_via").fill_null(False)).alias("booked"))
            .drop("booked_via")
            .join(err, on=KEY, how="left")
            .join(note, on=KEY, how="left")
            .join(link.select(KEY).unique().with_columns(pl.lit(True).alias("is_secondary")), on=KEY, how="left")
            .with_columns(pl.col("error").fill_null(""), pl.col("note").fill_null(""),
                          pl.col("is_secondary").fill_null(False)))
    reqs = reqs.join(products, on="pid", how="left").with_columns(
        pl.col("has_model").fill_null(False), pl.col("period").fill_null(0), pl.col("second_copy").fill_null(False))

    # Second copy: a portable device whose principal user holds the product on a non-portable relevant
    # device needs no license of its own (device_second_copy, or device with the product's term).
    reqs, link = _second_copy(reqs, link, inp)
    reqs = _quantify(reqs, inp, lookup)
    reqs = _confirm(reqs, old_reqs)
    return Plan(reqs=reqs, founds=founds, links=link)


def _second_copy(reqs: pl.DataFrame, link: pl.DataFrame, inp: Inputs) -> tuple[pl.DataFrame, pl.DataFrame]:
    a = pl.col("assignment")
    eligible = (reqs.filter(pl.col("has_model") & ~pl.col("is_secondary") & (pl.col("error") == "")
                            & pl.col("ck").str.starts_with("d:")
                            & ((a == Assignment.DEVICE_SECOND_COPY.value)
                               | ((a == Assignment.DEVICE.value) & pl.col("second_copy"))))
                .select(KEY)
                .join(inp.devices.filter(pl.col("relevant") & pl.col("user_ck").is_not_null())
                      .select("ck", "user_ck", "portable", pl.col("name").alias("label")), on="ck", how="inner"))
    if eligible.is_empty():
        return reqs, link
    fixed = (eligible.filter(~pl.col("portable")).sort(["label", "ck"])
             .group_by(["pid", "user_ck"], maintain_order=True)
             .agg(pl.col("ck").first().alias("fixed_ck"), pl.col("label").first().alias("fixed_label")))
    users = inp.persons.select(pl.col("ck").alias("user_ck"), pl.col("username"))
    copies = (eligible.filter(pl.col("portable")).join(fixed, on=["pid", "user_ck"], how="inner")
              .join(users, on="user_ck", how="left")
              .with_columns(pl.concat_str([pl.lit("second copy of "), pl.col("fixed_label"),
                                           pl.lit(" (principal user "),
                                           pl.col("username").fill_null(pl.col("user_ck").str.slice(2)),
                                           pl.lit(")")]).alias("copy_note")))
    if copies.is_empty():
        return reqs, link
    reqs = (reqs.join(copies.select(*KEY, "copy_note"), on=KEY, how="left")
            .with_columns(pl.when(pl.col("copy_note").is_not_null()).then(True).otherwise(pl.col("is_secondary"))
                          .alias("is_secondary"),
                          pl.coalesce(pl.col("copy_note"), pl.col("note")).alias("note"))
            .drop("copy_note"))
    link = pl.concat([link, copies.select(*KEY, pl.col("fixed_ck").alias("target"))])
    return reqs, link


def _plain(value: Any) -> Any:
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, Decimal):
        return str(value.normalize()) if value == value.to_integral_value() else str(value)
    return value


FACT_COLS = ["processors", "cores_per_processor", "threads", "vcpus", "ram_gb", "kind", "role", "processor_model"]


def _quantify(reqs: pl.DataFrame, inp: Inputs, lookup) -> pl.DataFrame:
    """License model, effectiveness and quantity; each (expression, facts) evaluated once."""
    reqs = reqs.with_columns(
        pl.when(pl.col("has_model")).then(pl.col("model")).otherwise(pl.col("default_model").fill_null(""))
        .alias("license_model"),
        pl.when(pl.col("has_model")).then(pl.col("error")).otherwise(pl.lit(ERR_NO_MODEL)).alias("error"),
        (pl.col("has_model") & pl.col("model_effective").fill_null(False)).alias("effective"))
    evaluated = (pl.col("has_model") & ~pl.col("is_secondary") & (pl.col("error") == ""))
    reqs = reqs.with_columns(pl.when(evaluated).then(pl.col("model_expression")).otherwise(pl.lit(""))
                             .alias("expression"),
                             (evaluated & pl.col("effective")).alias("_eval"))
    facts = inp.devices.select("ck", *FACT_COLS)
    reqs = reqs.join(facts, on="ck", how="left")
    todo = reqs.filter(pl.col("_eval")).select("model_expression", "rounding", *FACT_COLS).unique()
    results = []
    names_cache: dict[str, Any] = {}
    factor_cache: dict[tuple, Any] = {}
    for row in todo.iter_rows(named=True):
        expr = row["model_expression"]
        is_person = row["kind"] is None
        if is_person:
            facts_d: dict[str, Any] = {"is_virtual": False, "is_server": False}
        else:
            fkey = (row["processor_model"], row["processors"])
            if fkey not in factor_cache:
                factor_cache[fkey] = lookup(row["processor_model"], row["processors"]) if row["processor_model"] \
                    else (None, None)
            core_factor, pvu = factor_cache[fkey]
            p, c = row["processors"], row["cores_per_processor"]
            facts_d = {"processors": p, "cores": p * c if p is not None and c is not None else None,
                       "cores_per_processor": c, "threads": row["threads"], "vcpus": row["vcpus"],
                       "ram_gb": Decimal(row["ram_gb"]) if row["ram_gb"] is not None else None,
                       "is_virtual": row["kind"] == "virtual", "is_server": row["role"] == "server",
                       "core_factor": Decimal(str(core_factor)) if core_factor is not None else None,
                       "pvu_per_core": pvu}
        if expr not in names_cache:
            try:
                names_cache[expr] = tuple(sorted(names_used(expr)))
            except ExpressionError as exc:
                names_cache[expr] = exc
        names = names_cache[expr]
        values: dict[str, Any] = {}
        if isinstance(names, ExpressionError):
            value: Any = names
        else:
            values = {n: _plain(facts_d[n]) for n in names if facts_d.get(n) is not None}
            try:
                value = evaluate(expr, facts_d)
            except ExpressionError as exc:
                value = exc
        error = ""
        if isinstance(value, ExpressionError):
            # Missing data gives an error on the requirement, never a guessed number.
            error, quantity = f"quantity cannot be computed: {value}"[:300], Decimal(0)
        else:
            value = max(value, Decimal(0))
            if row["rounding"] == Rounding.POSITION:
                # Oracle-style: keep fractions; the balance rounds per position and core factor.
                quantity = value.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)
            else:
                quantity = value.to_integral_value(rounding=ROUND_CEILING)
        cf = facts_d.get("core_factor")
        results.append({**{k: row[k] for k in ("model_expression", "rounding", *FACT_COLS)},
                        "q_text": str(quantity), "q_error": error,
                        "values_json": json.dumps(values, sort_keys=True),
                        "cf_text": None if cf is None else str(cf)})
    schema = {**dict(todo.schema), "q_text": pl.String, "q_error": pl.String, "values_json": pl.String,
              "cf_text": pl.String}
    res = pl.DataFrame(results, schema=schema) if results else pl.DataFrame(schema=schema)
    reqs = reqs.join(res, on=["model_expression", "rounding", *FACT_COLS], how="left", nulls_equal=True)
    ev = pl.col("_eval")
    return reqs.with_columns(
        pl.when(ev).then(pl.col("q_text")).otherwise(pl.lit("0")).alias("quantity_text"),
        pl.when(ev & (pl.col("q_error") != "")).then(pl.col("q_error")).otherwise(pl.col("error")).alias("error"),
        pl.when(ev).then(pl.col("values_json")).otherwise(pl.lit("{}")).alias("expression_values"),
        pl.when(ev).then(pl.col("cf_text")).otherwise(None).alias("core_factor_text"),
    ).with_columns(pl.col("quantity_text").cast(pl.Float64).round(4).alias("quantity"),
                   pl.col("core_factor_text").cast(pl.Float64).alias("core_factor"))


def _confirm(reqs: pl.DataFrame, old_reqs: pl.DataFrame) -> pl.DataFrame:
    """A person's decision is kept; otherwise automatic mode or an approved booking confirms."""
    old = old_reqs.filter(~pl.col("manual") & (pl.col("confirmed_by") != "")).select(
        *KEY, pl.col("confirmation").alias("o_conf"), pl.col("confirmed_by").alias("o_by"),
        pl.col("confirmed_at").alias("o_at"))
    reqs = reqs.join(old, on=KEY, how="left")
    automatic = pl.col("confirm_mode").is_null() | (pl.col("confirm_mode") == "automatic")
    return reqs.with_columns(
        pl.when(pl.col("o_by").is_not_null()).then(pl.col("o_conf"))
        .when(automatic | pl.col("booked")).then(pl.lit(ConfirmationState.CONFIRMED.value))
        .otherwise(pl.lit(ConfirmationState.UNCONFIRMED.value)).alias("confirmation"),
        pl.col("o_by").fill_null("").alias("confirmed_by"),
        pl.col("o_at").alias("confirmed_at"))


# --- the writer ---------------------------------------------------------------------------------


class FrameWriter:
    """Writes the difference between the plan and the stored rows, one stage at a time."""

    def __init__(self, *, tenant: Tenant, scope, plan: Plan, old_reqs: pl.DataFrame, old_founds: pl.DataFrame):
        self.tenant, self.scope, self.plan = tenant, scope, plan
        self.old_reqs, self.old_founds = old_reqs, old_founds
        self.stats: dict[str, int] = {"created": 0, "updated": 0, "deleted": 0, "foundations_written": 0,
                                      "foundations_deleted": 0, "links_written": 0, "links_deleted": 0}
        self.ids = pl.DataFrame(schema={"ck": pl.String, "pid": pl.Int64, "id": pl.Int64})
        #: products whose requirement rows were created, changed or deleted (the balance re-allocates those)
        self.touched: set[int] = set()

    def requirements(self) -> None:
        """Upsert new and changed automatic requirements (never a manual one)."""
        from django.db import connection

        want = self.plan.reqs.select(*KEY, *[c for c in VALUE_COLS if c not in ("quantity", "core_factor")],
                                     "quantity", "core_factor", "quantity_text", "core_factor_text")
        old = _canonical_json(self.old_reqs, "expression_values").select(
            *KEY, "manual", pl.col("id").alias("old_id"), *[pl.col(c).alias(f"o_{c}") for c in VALUE_COLS])
        cmp = want.join(old, on=KEY, how="left")
        same = pl.lit(True)
        for c in VALUE_COLS:
            if c in ("quantity", "core_factor"):
                same = same & (pl.col(c).round(4).eq_missing(pl.col(f"o_{c}").round(4)))
            else:
                same = same & pl.col(c).eq_missing(pl.col(f"o_{c}"))
        cmp = cmp.with_columns(same.alias("_same"))
        write = cmp.filter(pl.col("manual").is_null() | (~pl.col("manual") & ~pl.col("_same"))).sort(KEY)
        self.stats["created"] = write.filter(pl.col("manual").is_null()).height
        self.stats["updated"] = write.height - self.stats["created"]
        self.touched |= set(write["pid"].unique().to_list())
        if write.height:
            now = connection.ops.adapt_datetimefield_value(timezone.now())
            is_dev = pl.col("ck").str.starts_with("d:")
            cid = pl.col("ck").str.slice(2).cast(pl.Int64)
            rows = write.select(
                pl.col("old_id"),
                pl.lit(self.tenant.id).alias("tenant_id"), pl.col("ck").alias("consumer_key"),
                pl.col("pid").alias("product_id"), pl.lit(False).alias("manual"),
                pl.when(is_dev).then(pl.lit("device")).otherwise(pl.lit("person")).alias("consumer_type"),
                pl.when(is_dev).then(cid).otherwise(None).alias("device_id"),
                pl.when(is_dev).then(None).otherwise(cid).alias("person_id"),
                "license_model", pl.col("quantity_text").alias("quantity"), "expression", "expression_values",
                pl.col("core_factor_text").alias("core_factor"), "error", "effective", "confirmation",
                "confirmed_by", "confirmed_at", "is_secondary", "note",
                pl.lit(str(now)).alias("created_at"), pl.lit(str(now)).alias("updated_at"))
            # New keys are not stored in the scope (it holds every row of its consumers or products):
            # they are inserted straight (COPY); changed rows are updated by id.
            table = Requirement._meta.db_table
            with transaction.atomic():
                frames.insert_frame(table, rows.filter(pl.col("old_id").is_null()).drop("old_id"))
                frames.update_frame(table, rows.filter(pl.col("old_id").is_not_null()).rename({"old_id": "id"}),
                                    update=[*VALUE_COLS, "updated_at"])
        self._read_ids()

    def _read_ids(self) -> None:
        cols = {"ck": STR, "pid": INT, "id": INT, "manual": BOOL}
        fields = ["consumer_key", "product_id", "id", "manual"]
        base = Requirement.objects.all()
        if self.scope.by_consumer:
            out = frames.read_in(base, "consumer_key", self.scope.consumer_keys(), cols, fields)
        elif self.scope.product_ids is not None:
            out = frames.read_in(base, "product_id", self.scope.product_ids, cols, fields)
        else:
            out = frames.read(base, cols, fields)
        self.ids = out

    def foundations(self) -> None:
        """Upsert new and changed foundations; delete the ones no longer wanted."""
        ids = self.ids.filter(~pl.col("manual")).select(*KEY, "id")
        want = self.plan.founds.join(ids, on=KEY, how="inner")
        old = self.old_founds.select(*FKEY, "fid", pl.col("source").alias("o_source"),
                                     pl.col("first_seen").alias("o_first"), pl.col("last_true").alias("o_last"))
        cmp = want.join(old, on=FKEY, how="left")
        changed = cmp.filter(pl.col("fid").is_null() | ~(pl.col("source").eq_missing(pl.col("o_source"))
                                                         & pl.col("first_seen").eq_missing(pl.col("o_first"))
                                                         & pl.col("last_true").eq_missing(pl.col("o_last"))))
        stale = self.old_founds.join(self.plan.founds, on=FKEY, how="anti")["fid"].sort().to_list()
        rows = changed.sort(FKEY).select("fid", pl.lit(self.tenant.id).alias("tenant_id"),
                                         pl.col("id").alias("requirement_id"), "kind",
                                         pl.col("sk").alias("source_key"), "source", "first_seen", "last_true")
        table = Foundation._meta.db_table
        with transaction.atomic():
            frames.delete_ids(table, stale)
            frames.insert_frame(table, rows.filter(pl.col("fid").is_null()).drop("fid"))
            frames.update_frame(table, rows.filter(pl.col("fid").is_not_null()).rename({"fid": "id"}),
                                update=["source", "first_seen", "last_true"])
        self.stats["foundations_written"] = rows.height
        self.stats["foundations_deleted"] = len(stale)

    def links(self) -> None:
        """Consolidation links: a secondary requirement → the requirements that carry it."""
        through = Requirement.consolidated_into.through
        ids = self.ids.select(*KEY, "id", "manual")
        auto = ids.filter(~pl.col("manual")).select(*KEY, pl.col("id").alias("src_id"))
        wanted = (self.plan.links.join(auto, on=KEY, how="inner")
                  .join(ids.select(pl.col("ck").alias("target"), "pid", pl.col("id").alias("dst_id")),
                        on=["target", "pid"], how="inner")
                  .select("src_id", "dst_id").unique())
        base = through.objects.filter(from_requirement__tenant_id=self.tenant.id, from_requirement__manual=False)
        cols = {"lid": INT, "src_id": INT, "dst_id": INT}
        fields = ["id", "from_requirement_id", "to_requirement_id"]
        if self.scope.by_consumer:
            have = frames.read_in(base, "from_requirement__consumer_key", self.scope.consumer_keys(), cols, fields)
        elif self.scope.product_ids is not None:
            have = frames.read_in(base, "from_requirement__product_id", self.scope.product_ids, cols, fields)
        else:
            have = frames.read(base, cols, fields)
        new = wanted.join(have, on=["src_id", "dst_id"], how="anti").sort(["src_id", "dst_id"])
        stale = have.join(wanted, on=["src_id", "dst_id"], how="anti")["lid"].sort().to_list()
        with transaction.atomic():
            frames.upsert_frame(through._meta.db_table,
                                new.select(pl.col("src_id").alias("from_requirement_id"),
                                           pl.col("dst_id").alias("to_requirement_id")),
                                conflict=["from_requirement_id", "to_requirement_id"],
                                update=["from_requirement_id"])
            frames.delete_ids(through._meta.db_table, stale)
        self.stats["links_written"], self.stats["links_deleted"] = new.height, len(stale)

    def cleanup(self) -> None:
        """Delete automatic requirements with no foundation left (their foundations and links cascade)."""
        stale = (self.old_reqs.filter(~pl.col("manual")).join(self.plan.reqs.select(KEY), on=KEY, how="anti")
                 ["id"].sort().to_list())
        self.touched |= set(self.old_reqs.filter(pl.col("id").is_in(stale))["pid"].unique().to_list())
        through = Requirement.consolidated_into.through
        with transaction.atomic():
            stale = _keep_exemptions(stale)
            frames.delete_ids(Foundation._meta.db_table, stale, column="requirement_id")
            frames.delete_ids(through._meta.db_table, stale, column="from_requirement_id")
            frames.delete_ids(through._meta.db_table, stale, column="to_requirement_id")
            for start in range(0, len(stale), 20_000):
                Requirement.objects.filter(id__in=stale[start:start + 20_000], manual=False).delete()
        self.stats["deleted"] = len(stale)


def _keep_exemptions(stale: list[int]) -> list[int]:
    """An exemption of a single requirement outlives the requirement: it becomes an exemption of that
    requirement's consumer for its product (the documented decision stays; deleting the requirement
    would otherwise leave the exemption without a subject). A requirement without a consumer (never
    written by the engine) is kept. Returns the ids that may be deleted. One query when none apply."""
    from requirements_engine.models_balance import Exemption

    keep: set[int] = set()
    for start in range(0, len(stale), 20_000):
        chunk = stale[start:start + 20_000]
        for ex in Exemption.objects.filter(requirement_id__in=chunk, device__isnull=True,
                                           person__isnull=True).select_related("requirement"):
            req = ex.requirement
            if req.device_id is None and req.person_id is None:
                keep.add(req.id)
                continue
            ex.device_id, ex.person_id = req.device_id, req.person_id
            ex.product_id = ex.product_id or req.product_id
            ex.save(update_fields=["device", "person", "product"])
    return [i for i in stale if i not in keep]
