# tachiai — the two commands are `make demo` and `make test`; everything else is for developers.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_STAMP := $(VENV)/.installed-demo
# package.json's dev tools (the CDK CLI, axe-core); defined before any rule names it as a prerequisite
NODE_STAMP := node_modules/.installed

.PHONY: demo test unit lint format bench synth layer clean openapi

# `make demo` installs only what the demo runs (the package and its local runtime: `.[local]`), showing
# pip's progress; `make test` and the developer targets add the test, lint and CDK tools (`.[dev,infra]`).
$(DEMO_STAMP): pyproject.toml
	@echo "==> creating $(VENV) (the demo needs the package and its local runtime only)"
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --progress-bar on --upgrade pip
	@echo "==> installing tachiai with its local runtime (.[local])"
	$(BIN)/python -m pip install --progress-bar on -e '.[local]'
	touch $(DEMO_STAMP)

$(STAMP): $(DEMO_STAMP)
	@echo "==> installing the test, lint and deployment tools (.[local,dev,infra])"
	$(BIN)/python -m pip install --progress-bar on -e '.[local,dev,infra]'
	touch $(STAMP)

demo: $(DEMO_STAMP)
	$(BIN)/tachiai demo --out demo-out

# the browser tests inject axe-core from node_modules (package.json), so `make test` installs it too
test: $(STAMP) $(NODE_STAMP)
	$(BIN)/python -m pytest -q

unit: $(STAMP)
	$(BIN)/python -m pytest -q tests/unit

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# The sender API's OpenAPI document, generated from the code (tests/unit/test_openapi_document.py
# compares the committed copy with what the code generates).
openapi: $(DEMO_STAMP)
	$(BIN)/python -m tachiai.api.contract > docs/openapi.json.tmp && mv docs/openapi.json.tmp docs/openapi.json

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

# --- deployment (infra/): the CDK CLI is pinned in package.json / package-lock.json ---
# `make synth` never talks to AWS: no credentials reach the CLI (so it does not call STS for a default
# account, and the template stays account-agnostic), no instance metadata, no version check, no notices,
# no telemetry, no context lookups (--no-lookups fails the synth if the app ever needs one).
CDK_OFFLINE := env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_SESSION_TOKEN -u AWS_PROFILE \
	-u AWS_CONTAINER_CREDENTIALS_RELATIVE_URI -u AWS_CONTAINER_CREDENTIALS_FULL_URI -u AWS_WEB_IDENTITY_TOKEN_FILE \
	AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_EC2_METADATA_DISABLED=true \
	CDK_DISABLE_VERSION_CHECK=1 CDK_DISABLE_CLI_TELEMETRY=true JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION=1

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $(NODE_STAMP)

# Synthesizes cdk.out/ (building the dependency layer with pip unless cdk.out already holds this exact
# layer), prints the layer's size, then lints the templates (.cfnlintrc.yaml; errors fail the target).
synth: $(STAMP) $(NODE_STAMP)
	$(CDK_OFFLINE) npx --no-install cdk synth --quiet --no-notices --no-lookups
	$(BIN)/python -m infra.bundling report cdk.out
	$(BIN)/cfn-lint --non-zero-exit-code error

# The dependency layer alone, into build/layer (same build as in `make synth`).
layer: $(STAMP)
	$(BIN)/python -m infra.bundling build build/layer

clean:
	rm -rf $(VENV) demo-out .tachiai .tachiai-local build *.egg-info .pytest_cache .mypy_cache .ruff_cache \
		cdk.out node_modules
