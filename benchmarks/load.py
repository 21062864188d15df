"""A bounded load run: locust (headless, fixed users and duration, loopback only) against gunicorn
on PostgreSQL with a real Celery worker, over a tenant seeded with ``--devices`` devices.

Makes a fresh database on ``--server``, migrates it, seeds the tenant ``load`` (``seed_demo``),
recomputes it, starts a worker and gunicorn on a free loopback port, logs ``--users`` locust
users in as the tenant's administrator and lets them walk the list pages, dashboards, receiving
queue, balance and editors for ``--duration`` seconds. Prints one JSON object: p50/p95 (ms) and
request/error counts per page group, and drops the database afterwards.

    .venv/bin/pip install -e '.[load]'
    .venv/bin/python benchmarks/load.py --devices 100000 --users 20 --duration 120
"""
from __future__ import annotations

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import re  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import gevent  # noqa: E402
from locust import HttpUser, between, task  # noqa: E402
from locust.env import Environment  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "load-password-123"
TENANT = "load"

GROUPS = {
    "lists": ["/t/load/inventory/", "/t/load/entitlements/", "/t/load/requirements/",
              "/t/load/catalog/", "/t/load/inventory/installations/", "/t/load/inventory/persons/"],
    "dashboards": ["/t/load/", "/t/load/requirements/balance/dashboard/"],
    "receiving_queue": ["/t/load/receiving/"],
    "balance": ["/t/load/requirements/balance/", "/t/load/requirements/reconciliation/"],
    "editors": ["/t/load/entitlements/new/license/"],
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument("--devices", type=int, default=100_000)
    p.add_argument("--users", type=int, default=20)
    p.add_argument("--duration", type=int, default=120, help="seconds of load")
    p.add_argument("--server", default="postgres://postgres@127.0.0.1:5432")
    p.add_argument("--redis-url", default="redis://127.0.0.1:6379/14")
    p.add_argument("--gunicorn-workers", type=int, default=4)
    p.add_argument("--database", default="", help="reuse an already seeded database (skips seeding)")
    return p.parse_args()


class SamUser(HttpUser):
    wait_time = between(0.5, 1.5)
    edit_urls: list[str] = []

    def on_start(self):
        page = self.client.get("/accounts/login/", name="login")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
        self.client.post("/accounts/login/", {"csrfmiddlewaretoken": token, "username": "load-admin",
                                              "password": PASSWORD},
                         headers={"Referer": self.host + "/accounts/login/"}, name="login")

    @task(5)
    def lists(self):
        self.client.get(random.choice(GROUPS["lists"]), name="lists")

    @task(2)
    def dashboards(self):
        self.client.get(random.choice(GROUPS["dashboards"]), name="dashboards")

    @task(2)
    def queue(self):
        self.client.get(random.choice(GROUPS["receiving_queue"]), name="receiving_queue")

    @task(2)
    def balance(self):
        self.client.get(random.choice(GROUPS["balance"]), name="balance")

    @task(1)
    def editors(self):
        url = random.choice(self.edit_urls or GROUPS["editors"])
        self.client.get(url, name="editors")


def main() -> int:
    args = parse_args()
    name = args.database or f"sam_load_{os.getpid()}"
    env = dict(os.environ, DATABASE_URL=f"{args.server}/{name}", REDIS_URL=args.redis_url, DEBUG="false",
               DJANGO_SETTINGS_MODULE="sam.settings")
    py = [sys.executable, "manage.py"]
    timings = {}
    procs: list[subprocess.Popen] = []
    try:
        if not args.database:
            subprocess.run(["psql", f"{args.server}/postgres", "-qc", f"CREATE DATABASE {name}"], check=True)
            started = time.perf_counter()
            subprocess.run([*py, "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
            seed_env = {**env, "REDIS_URL": ""}  # seed and recompute inline
            subprocess.run([*py, "seed_demo", "--tenant", TENANT, "--devices", str(args.devices)], cwd=ROOT,
                           env=seed_env, check=True, stdout=subprocess.DEVNULL)
            subprocess.run([*py, "recompute", "--tenant", TENANT], cwd=ROOT, env=seed_env, check=True,
                           stdout=subprocess.DEVNULL)
            timings["seed_s"] = round(time.perf_counter() - started, 1)
        out = subprocess.run([*py, "shell", "-c", (
            "from django.contrib.auth import get_user_model\n"
            "from django_scopes import scope\n"
            "from sam.models import Membership, Tenant\n"
            "from entitlements.models import Entitlement\n"
            "u, _ = get_user_model().objects.get_or_create(username='load-admin')\n"
            f"u.set_password({PASSWORD!r}); u.save()\n"
            f"t = Tenant.objects.get(slug={TENANT!r})\n"
            "Membership.objects.get_or_create(user=u, tenant=t, defaults={'role': 'admin'})\n"
            "with scope(tenant=t):\n"
            "    print('IDS', ','.join(str(i) for i in Entitlement.objects.values_list('pk', flat=True)[:50]))\n"
            "    from inventory.models import Device\n"
            "    print('DEVICES', Device.objects.count())\n")], cwd=ROOT, env=env, check=True,
            capture_output=True, text=True).stdout
        ids = [i for i in out.split("IDS")[-1].split()[0].split(",") if i]
        devices = int(out.split("DEVICES")[-1].split()[0])
        SamUser.edit_urls = [f"/t/{TENANT}/entitlements/{i}/" for i in ids] or GROUPS["editors"]
        port = free_port()
        procs.append(subprocess.Popen([str(Path(sys.executable).with_name("celery")), "-A", "sam", "worker",
                                       "--pool", "solo", "-l", "warning"], cwd=ROOT, env=env,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        procs.append(subprocess.Popen([str(Path(sys.executable).with_name("gunicorn")), "sam.wsgi:application",
                                       "--bind", f"127.0.0.1:{port}", "--workers", str(args.gunicorn_workers),
                                       "--timeout", "120"], cwd=ROOT, env=env,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        host = f"http://127.0.0.1:{port}"
        import urllib.request

        for _ in range(120):
            try:
                urllib.request.urlopen(host + "/healthz", timeout=2)
                break
            except Exception:  # noqa: BLE001
                time.sleep(0.5)
        SamUser.host = host
        environment = Environment(user_classes=[SamUser], host=host)
        runner = environment.create_local_runner()
        runner.start(args.users, spawn_rate=args.users)
        gevent.spawn_later(args.duration, runner.quit)
        runner.greenlet.join()
        stats = environment.stats
        groups = {}
        for group in GROUPS:
            entry = stats.get(group, "GET")
            groups[group] = {"requests": entry.num_requests, "errors": entry.num_failures,
                             "p50_ms": entry.get_response_time_percentile(0.5),
                             "p95_ms": entry.get_response_time_percentile(0.95),
                             "max_ms": round(entry.max_response_time or 0)}
        total = stats.total
        print(json.dumps({
            "devices": devices, "users": args.users, "duration_s": args.duration,
            "gunicorn_workers": args.gunicorn_workers, **timings,
            "requests": total.num_requests, "errors": total.num_failures,
            "rps": round(total.num_requests / args.duration, 1),
            "p50_ms": total.get_response_time_percentile(0.5), "p95_ms": total.get_response_time_percentile(0.95),
            "groups": groups,
        }, indent=2))
        return 0
    finally:
        for proc in procs:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        if not args.database:
            subprocess.run(["psql", f"{args.server}/postgres", "-qc", f"DROP DATABASE IF EXISTS {name}"])


if __name__ == "__main__":
    sys.exit(main())
