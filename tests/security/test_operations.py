"""The deployment files: docker-compose.yml describes a set that can start (Docker does not run
here, so its structure is checked), .env.example names every variable it needs, and the lock
file pins every runtime dependency with hashes."""
from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def _compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_compose_has_the_five_services_with_health_checks_and_volumes():
    compose = _compose()
    services = compose["services"]
    assert set(services) == {"web", "worker", "beat", "postgres", "redis"}
    for name, service in services.items():
        assert "healthcheck" in service and service["healthcheck"]["test"], f"{name} has no health check"
        assert service.get("restart") == "unless-stopped", name
    assert "gunicorn sam.wsgi:application" in services["web"]["command"]
    assert "migrate --noinput" in services["web"]["command"]
    assert "/healthz" in " ".join(services["web"]["healthcheck"]["test"])
    assert services["worker"]["command"].startswith("celery -A sam worker")
    assert services["beat"]["command"].startswith("celery -A sam beat")
    for name in ("web", "worker", "beat"):
        depends = services[name]["depends_on"]
        assert depends["postgres"]["condition"] == depends["redis"]["condition"] == "service_healthy", name
        assert services[name]["environment"]["SAM_ENV"] == "production"
        assert "media:/var/lib/sam/media" in services[name]["volumes"]
    assert set(compose["volumes"]) >= {"pgdata", "media", "redisdata"}
    assert "pgdata:/var/lib/postgresql/data" in services["postgres"]["volumes"]
    # The application does not connect as the PostgreSQL superuser (row-level security).
    url = services["web"]["environment"]["DATABASE_URL"]
    assert url.startswith("postgres://${SAM_DB_USER") and "postgres:${" not in url
    init = ROOT / "docker" / "postgres" / "10-app-role.sh"
    assert "./docker/postgres:/docker-entrypoint-initdb.d:ro" in services["postgres"]["volumes"]
    assert "NOSUPERUSER NOBYPASSRLS" in init.read_text()


def test_env_example_sets_every_variable_the_compose_file_requires():
    text = (ROOT / "docker-compose.yml").read_text()
    required = set(re.findall(r"\$\{([A-Z_]+):\?", text))
    assert {"SAM_DB_PASSWORD", "POSTGRES_PASSWORD"} <= required
    example = dict(line.split("=", 1) for line in (ROOT / ".env.example").read_text().splitlines()
                   if line and not line.startswith("#"))
    assert required <= set(example), required - set(example)
    assert len(example["SECRET_KEY"]) >= 32
    for service in ("web", "worker", "beat", "postgres"):
        assert _compose()["services"][service]["env_file"] == ".env"


def test_the_lock_pins_every_runtime_dependency_with_hashes():
    lock = (ROOT / "requirements.lock").read_text()
    pinned = {m.group(1).lower().replace("_", "-") for m in re.finditer(r"^([A-Za-z0-9_.-]+)==", lock, re.M)}
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    names = {re.split(r"[<>=\[ ]", d, maxsplit=1)[0].lower().replace("_", "-") for d in deps}
    assert names <= pinned, names - pinned
    blocks = re.split(r"\n(?=[A-Za-z0-9_.-]+==)", lock.split("\n", 2)[-1])
    assert all("--hash=sha256:" in b for b in blocks if "==" in b)
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "--require-hashes" in dockerfile and "requirements.lock" in dockerfile
