# Two commands for a fresh machine with nothing but Python 3.11:
#   make run    install into .venv, migrate, load demo data, print a login, serve on PORT (8000)
#   make test   install into .venv and run the whole test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
PYTEST_ARGS ?=

.PHONY: run test install migrate demo lint acceptance clean lock audit

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed

migrate: install
	$(BIN)/python manage.py migrate --noinput

demo: migrate
	$(BIN)/python manage.py seed_demo

run: demo
	@echo ""
	@echo "  SAM is starting on http://127.0.0.1:$(PORT)/accounts/login/"
	@echo ""
	DEBUG=1 $(BIN)/python manage.py runserver 127.0.0.1:$(PORT)

test: install
	$(BIN)/python -m pytest -n 2 --dist loadgroup $(PYTEST_ARGS)

# requirements.lock: the runtime dependencies of pyproject.toml, pinned with hashes (the Dockerfile
# installs from it). Regenerate after changing pyproject.toml's dependencies.
TOOLS := .venv-tools/bin

$(TOOLS)/python:
	$(PYTHON) -m venv .venv-tools

lock: | $(TOOLS)/python
	$(TOOLS)/python -m pip install --quiet uv
	$(TOOLS)/python -m uv pip compile pyproject.toml --generate-hashes --python-version 3.11 \
	  --python-platform linux --custom-compile-command "make lock" -o requirements.lock

audit: | $(TOOLS)/python
	$(TOOLS)/python -m pip install --quiet pip-audit
	$(TOOLS)/python .ci/pip_audit.py requirements.lock $(TOOLS)/pip-audit

lint: install
	$(BIN)/ruff check .
	$(BIN)/python manage.py makemigrations --check --dry-run

acceptance: migrate
	$(BIN)/python ../shared/acceptance/run.py ../shared/acceptance/estate-demo

clean:
	rm -rf $(VENV) .venv-tools var .pytest_cache
