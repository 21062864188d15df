"""A realistic demo estate, scaled by the number of devices (``seed_demo --devices N``).

The rows are generated deterministically from the tenant's slug and applied through the same
importers ``import_data`` uses, so a second run changes nothing and 2,000 devices take seconds:

* cost centers and persons (about one in twenty inactive);
* workstations and laptops, half of the laptops sharing the primary user of a desktop (the
  second-copy case), a few disposed or in stock, a few phones;
* physical servers with Xeon/EPYC processors, some powered off; ESXi hosts and VMs on them with a
  placement history in which some VMs moved to another host 30 days ago;
* AD groups that the master catalog assigns to products, with person and device members;
* installations named as inventory tools report them: products the master catalog recognises
  (Office, Visio, Project, Windows Server, SQL Server, Oracle, Db2, Acrobat, AutoCAD, ESXi),
  irrelevant runtimes and browsers, and a few applications nobody classified yet;
* remote use of a terminal server and service-catalog bookings.
"""
from __future__ import annotations

import datetime as dt
import random
import zlib
from collections.abc import Callable

from catalog.demo import DEMO_INSTALLATIONS
from inventory import importers
from sam.models import Tenant

COST_CENTERS = (("CC-1000", "Finance"), ("CC-2000", "Sales"), ("CC-3000", "Engineering"), ("CC-4000", "Operations"),
                ("CC-5000", "Human Resources"), ("CC-6000", "IT"), ("CC-7000", "Marketing"), ("CC-8000", "Legal"))
FIRST = ("anna", "ben", "clara", "david", "eva", "felix", "greta", "hugo", "ida", "jonas", "karla", "leon", "mia",
         "noah", "olga", "paul", "quinn", "rosa", "sven", "tara", "uwe", "vera", "willi", "xenia", "yusuf", "zoe")
LAST = ("adams", "berg", "castro", "dietz", "evans", "fischer", "garcia", "hansen", "ivanova", "jansen", "keller",
        "lopez", "meyer", "nagy", "olsen", "petrov", "quast", "rossi", "schmidt", "tanaka", "ulrich", "vogel",
        "weber", "xu", "young", "zimmer")

# (publisher, name, version) as inventory tools report them. The catalog's demo list is preferred
# (its recognition rules are written for exactly these); this fallback keeps the demo working alone.
FALLBACK_SOFTWARE = {
    "office_std": ("Microsoft Corporation", "Microsoft Office LTSC Standard 2021", "16.0.14332"),
    "office_pro": ("Microsoft Corporation", "Microsoft Office LTSC Professional Plus 2021", "16.0.14332"),
    "office_2024": ("Microsoft Corporation", "Microsoft Office LTSC Professional Plus 2024", "16.0.17932"),
    "visio": ("Microsoft Corporation", "Microsoft Visio LTSC Professional 2021", "16.0.14332"),
    "project": ("Microsoft Corporation", "Microsoft Project Professional 2021", "16.0.14332"),
    "winsrv_std": ("Microsoft Corporation", "Microsoft Windows Server 2022 Standard", "10.0.20348"),
    "winsrv_dc": ("Microsoft Corporation", "Microsoft Windows Server 2022 Datacenter", "10.0.20348"),
    "sql_std": ("Microsoft Corporation", "Microsoft SQL Server 2022 Standard (64-bit)", "16.0.1000.6"),
    "sql_ent": ("Microsoft Corporation", "Microsoft SQL Server 2022 Enterprise (64-bit)", "16.0.1000.6"),
    "oracle": ("Oracle", "Oracle Database 19c Enterprise Edition", "19.3.0.0"),
    "db2": ("IBM", "IBM Db2 Standard Edition", "11.5.8"),
    "acrobat": ("Adobe Inc.", "Adobe Acrobat DC Pro", "24.002"),
    "autocad": ("Autodesk, Inc.", "AutoCAD 2025 - English", "25.0.58"),
    "esxi": ("VMware, Inc.", "VMware ESXi", "8.0.2"),
}
IRRELEVANT = (("Microsoft Corporation", "Microsoft Visual C++ 2015-2022 Redistributable (x64)", "14.38"),
              ("Microsoft Corporation", "Microsoft Edge", "120.0"), ("Google LLC", "Google Chrome", "120.0"),
              ("Adobe Inc.", "Adobe Acrobat Reader DC", "24.001"))
UNKNOWN = (("Contoso Tools", "Contoso Inventory Agent", "3.2"), ("Notepad++ Team", "Notepad++ (64-bit x64)", "8.6"),
           ("Fabrikam", "Fabrikam Expense Client", "5.1"))
GROUPS_FOR = {"m365": "APP-Microsoft365-E3", "acrobat": "APP-Acrobat-Pro", "autocad": "APP-AutoCAD-2025"}


def _software() -> dict[str, tuple[str, str, str]]:
    """Raw names for the demo, taken from the catalog's demo list where it has them."""
    software = dict(FALLBACK_SOFTWARE)
    by_name = {name: (publisher, name, version) for publisher, name, version, *_rest in DEMO_INSTALLATIONS}
    for key, (_p, name, _v) in FALLBACK_SOFTWARE.items():
        if name in by_name:
            software[key] = by_name[name]
    return software


def _rows(records: list[dict[str, str]]) -> list[tuple[int, dict[str, str]]]:
    """Rows as the importers get them from a file: every row has every column of the file."""
    columns = sorted({key for record in records for key in record})
    return [(i, {c: record.get(c, "") for c in columns}) for i, record in enumerate(records, start=2)]


def build(*, slug: str, devices: int, today: dt.date) -> dict[str, list[dict[str, str]]]:
    """The demo files, as rows per kind (pure: same slug, size and day give the same rows)."""
    rng = random.Random(zlib.crc32(slug.encode()))
    sw = _software()
    n = max(devices, 20)
    n_hosts = max(2, n // 50)
    n_servers = max(3, n // 25)
    n_vms = max(4, n // 8)
    n_phones = n // 50
    n_clients = max(6, n - n_hosts - n_servers - n_vms - n_phones)
    n_laptops = n_clients * 2 // 5
    n_workstations = n_clients - n_laptops

    persons: list[dict[str, str]] = []
    for i in range(max(5, n_workstations + n_laptops // 2)):
        first, last = FIRST[i % len(FIRST)], LAST[(i // len(FIRST) + i) % len(LAST)]
        persons.append({"username": f"{first}.{last}{i // (len(FIRST) * len(LAST)) or ''}"[:150],
                        "email": f"{first}.{last}{i}@demo.example", "name": f"{first.title()} {last.title()}",
                        "status": "inactive" if rng.random() < 0.05 else "active",
                        "cost_center": rng.choice(COST_CENTERS)[0]})
    usernames = [p["username"] for p in persons]

    device_rows: list[dict[str, str]] = []
    installs: list[dict[str, str]] = []
    members: list[dict[str, str]] = []
    seen = (today - dt.timedelta(days=rng.randint(0, 6))).isoformat()

    def install(device: str, key_or_triple, last_seen: str = seen) -> None:
        publisher, name, version = sw[key_or_triple] if isinstance(key_or_triple, str) else key_or_triple
        installs.append({"device": device, "publisher": publisher, "name": name, "version": version,
                         "last_seen": last_seen})

    def client_status() -> str:
        roll = rng.random()
        return "disposed" if roll < 0.04 else "in stock" if roll < 0.06 else "in use" if roll < 0.2 else "active"

    for i in range(n_workstations):
        name, user = f"WS-{i + 1:05d}", usernames[i % len(usernames)]
        device_rows.append({"name": name, "kind": "physical", "role": "workstation", "status": client_status(),
                            "processors": "1", "cores_per_processor": rng.choice(("4", "6", "8")), "threads": "",
                            "processor_model": rng.choice(("Intel Core i5-12500", "Intel Core i7-13700")),
                            "ram_gb": rng.choice(("16", "32")), "primary_user": user})
    for i in range(n_laptops):
        name = f"NB-{i + 1:05d}"
        # Half of the laptops belong to someone who also has a desktop: the second-copy case.
        user = usernames[i % n_workstations] if i % 2 == 0 else usernames[(n_workstations + i // 2) % len(usernames)]
        device_rows.append({"name": name, "kind": "physical", "role": "laptop", "status": client_status(),
                            "processors": "1", "cores_per_processor": "4", "threads": "8",
                            "processor_model": "Intel Core i7-1365U", "ram_gb": "16", "primary_user": user})
    for i in range(n_phones):
        device_rows.append({"name": f"MOB-{i + 1:04d}", "kind": "mobile", "role": "laptop", "status": "active",
                            "primary_user": usernames[i % len(usernames)]})
    for row in device_rows:
        if row["kind"] == "mobile":
            continue
        name = row["name"]
        install(name, rng.choices(("office_std", "office_pro", "office_2024"), weights=(5, 4, 1))[0])
        if rng.random() < 0.12:
            install(name, "visio")
        if rng.random() < 0.06:
            install(name, "project")
        if rng.random() < 0.15:
            install(name, "acrobat")
        if rng.random() < 0.03:
            install(name, "autocad")
        for triple in IRRELEVANT:
            if rng.random() < 0.7:
                install(name, triple)
        if rng.random() < 0.1:
            install(name, rng.choice(UNKNOWN))

    hosts = [f"ESX-{i + 1:03d}" for i in range(n_hosts)]
    for name in hosts:
        device_rows.append({"name": name, "kind": "physical", "role": "server", "status": "active", "power": "on",
                            "processors": "2", "cores_per_processor": "16", "threads": "64",
                            "processor_model": "Intel Xeon Gold 6338", "ram_gb": "768"})
        install(name, "esxi")
    for i in range(n_servers):
        name = f"SRV-{i + 1:04d}"
        model = rng.choice(("Intel Xeon Silver 4314", "AMD EPYC 7313"))
        device_rows.append({"name": name, "kind": "physical", "role": "server",
                            "status": "disposed" if i % 17 == 16 else "active",
                            "power": "off" if i % 6 == 5 else "on", "processors": rng.choice(("1", "2")),
                            "cores_per_processor": rng.choice(("8", "12", "16")), "threads": "",
                            "processor_model": model, "ram_gb": rng.choice(("128", "256"))})
        install(name, "winsrv_std" if i % 3 else "winsrv_dc")
        if i % 4 == 0:
            install(name, "sql_ent" if i % 8 == 0 else "sql_std")
        if i % 10 == 1:
            install(name, "oracle")
        if i % 15 == 2:
            install(name, "db2")

    placements: list[dict[str, str]] = []
    since = (today - dt.timedelta(days=400)).isoformat()
    moved = (today - dt.timedelta(days=30)).isoformat()
    vms = [f"VM-{i + 1:04d}" for i in range(n_vms)]
    for i, name in enumerate(vms):
        device_rows.append({"name": name, "kind": "virtual", "role": "server", "status": "active",
                            "power": "off" if i % 12 == 11 else "on", "vcpus": rng.choice(("2", "4", "8", "16")),
                            "ram_gb": rng.choice(("8", "16", "32", "64"))})
        host = hosts[i % n_hosts]
        if i % 5 == 0 and n_hosts > 1:
            # Moved to another host 30 days ago: the old period ends on the day the new one starts.
            placements.append({"vm": name, "host": hosts[(i + 1) % n_hosts], "from": since, "to": moved})
            placements.append({"vm": name, "host": host, "from": moved, "to": ""})
        else:
            placements.append({"vm": name, "host": host, "from": since, "to": ""})
        install(name, "winsrv_dc" if i % 2 else "winsrv_std")
        if i % 3 == 0:
            install(name, "sql_ent" if i % 9 == 0 else "sql_std")
        install(name, IRRELEVANT[0])
    terminal_server = vms[1]

    for i, username in enumerate(usernames):
        if i % 3 == 0:
            members.append({"group": GROUPS_FOR["m365"], "member": username})
        if i % 11 == 0:
            members.append({"group": GROUPS_FOR["acrobat"], "member": username})
        if i % 29 == 0:
            members.append({"group": GROUPS_FOR["autocad"], "member": username})
        members.append({"group": "ALL-Staff", "member": username})
    for name in vms[: max(1, n_vms // 4)]:
        members.append({"group": "SRV-Patch-Wave-1", "member": name})

    remote = [{"user": usernames[i], "host": terminal_server, "executable": exe,
               "last_used": (today - dt.timedelta(days=rng.randint(0, 60))).isoformat()}
              for i in range(0, min(len(usernames), 40), 2) for exe in ("WINWORD.EXE", "VISIO.EXE")[: 1 + i % 2]]
    bookings = [{"user": usernames[i], "service": rng.choice(("Microsoft Visio", "Adobe Acrobat Pro", "AutoCAD")),
                 "status": rng.choice(("approved", "approved", "requested", "rejected", "cancelled")),
                 "date": (today - dt.timedelta(days=rng.randint(0, 365))).isoformat()}
                for i in range(0, len(usernames), 7)]
    return {
        "cost_centers": [{"code": c, "name": n_} for c, n_ in COST_CENTERS],
        "persons": persons,
        "devices": device_rows,
        "vm_hosts": placements,
        "installations": installs,
        "group_memberships": members,
        "remote_usage": remote,
        "service_bookings": bookings,
    }


def seed(tenant: Tenant, devices: int = 400, log: Callable[[str], None] = print) -> None:
    """Load the demo estate of ``devices`` devices into ``tenant`` (inside its scope; idempotent)."""
    files = build(slug=tenant.slug, devices=devices, today=dt.date.today())
    for kind in importers.INVENTORY_KINDS:
        importer = getattr(importers, f"{kind}_import")
        result = importer(tenant=tenant, rows=_rows(files[kind]), as_of=dt.date.today(), actor="seed_demo",
                          filename="seed_demo")
        log(f"inventory {tenant.slug}: {result.summary()}")
