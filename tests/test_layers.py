"""The layers hold (``lint-imports``, run by ``make lint``), and a lazy import from below breaks them."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(settings.BASE_DIR)
PACKAGES = ("sam", "catalog", "inventory", "entitlements", "receiving", "requirements_engine")
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint(cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(LINT_IMPORTS), "--config", str(cwd / "pyproject.toml"), "--no-cache"], cwd=cwd,
                          env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(cwd)}, capture_output=True, text=True,
                          timeout=300)


def _copy_tree(target: Path) -> None:
    """The project's packages (Python files only) and its pyproject, beside nothing else."""
    shutil.copy(ROOT / "pyproject.toml", target / "pyproject.toml")
    for package in PACKAGES:
        for source in (ROOT / package).rglob("*.py"):
            dest = target / source.relative_to(ROOT)
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(source, dest)


@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> Path:
    if not LINT_IMPORTS.exists():
        pytest.fail("import-linter is a test dependency: pip install -e '.[test]'")
    target = tmp_path_factory.mktemp("layers")
    _copy_tree(target)
    return target


def test_the_layers_of_the_house_hold(tree):
    result = _lint(tree)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize("module, line, contract", [
    # A lazy import inside a function counts: the catalog must never reach up into the engine.
    ("catalog/_violation.py", "def f():\n    from requirements_engine.services import recompute_request\n",
     "Nothing imports the engine but itself"),
    # The core knows no app.
    ("sam/_violation.py", "def f():\n    import receiving.services\n", "Layers"),
    # Siblings stay apart: entitlements does not read inventory.
    ("entitlements/_violation.py", "from inventory.models import Device\n", "Layers"),
])
def test_an_import_against_the_layers_fails_the_lint(tree, module, line, contract):
    path = tree / module
    path.write_text(line, encoding="utf-8")
    try:
        result = _lint(tree)
    finally:
        path.unlink()
    assert result.returncode != 0, result.stdout
    assert "BROKEN" in result.stdout and contract in result.stdout
    assert module.replace("/", ".").removesuffix(".py") in result.stdout
