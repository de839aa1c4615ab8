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
test: node-check $(STAMP) $(NODE_STAMP)
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

# `make bench` runs every section and writes benchmarks/results.json; `make bench ONLY="cost console"`
# runs those sections and prints their figures only
bench: $(STAMP)
	$(BIN)/python benchmarks/run.py $(if $(ONLY),--only $(ONLY))

# --- deployment (infra/): the CDK CLI is pinned in package.json / package-lock.json ---
# `make synth` never talks to AWS: no credentials reach the CLI (so it does not call STS for a default
# account, and the template stays account-agnostic), no instance metadata, no version check, no notices,
# no telemetry, no context lookups (--no-lookups fails the synth if the app ever needs one).
CDK_OFFLINE := env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_SESSION_TOKEN -u AWS_PROFILE \
	-u AWS_CONTAINER_CREDENTIALS_RELATIVE_URI -u AWS_CONTAINER_CREDENTIALS_FULL_URI -u AWS_WEB_IDENTITY_TOKEN_FILE \
	AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_EC2_METADATA_DISABLED=true \
	CDK_DISABLE_VERSION_CHECK=1 CDK_DISABLE_CLI_TELEMETRY=true JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION=1

# Node.js runs the CDK CLI and jsii (the engine under the Python aws-cdk-lib): 22 and 24 are supported
# (package.json "engines"; jsii's own list). Another version only WARNS, in one line: Node 20 still runs
# everything today (CI's image has it), and jsii's own end-of-life banner is silenced in `make synth`.
NODE_SUPPORTED := 22 24
.PHONY: node-check
node-check:
	@version=$$(node --version 2>/dev/null); major=$$(echo "$$version" | sed -n 's/^v\([0-9][0-9]*\)\..*/\1/p'); \
	if [ -z "$$major" ]; then \
		echo "tachiai: Node.js not found: the CDK needs Node.js $(NODE_SUPPORTED) (https://nodejs.org)" >&2; exit 1; \
	fi; \
	case " $(NODE_SUPPORTED) " in *" $$major "*) ;; \
	*) echo "tachiai: warning: Node.js $$version is not a supported version (supported: $(NODE_SUPPORTED));" \
		"$$( [ "$$major" -lt 22 ] && echo 'it is end-of-life, ' )please upgrade: the CDK may stop running on it" >&2 ;; \
	esac

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $(NODE_STAMP)

# Synthesizes cdk.out/ (building the dependency layer with pip unless cdk.out already holds this exact
# layer), prints the layer's size, then lints the templates (.cfnlintrc.yaml; errors fail the target).
# CI runs `make synth LAYER_REPORT=--require-compiled`: a layer not byte-compiled for 3.12 fails there.
LAYER_REPORT ?=
synth: node-check $(STAMP) $(NODE_STAMP)
	$(CDK_OFFLINE) npx --no-install cdk synth --quiet --no-notices --no-lookups
	$(BIN)/python -m infra.bundling report cdk.out $(LAYER_REPORT)
	$(BIN)/cfn-lint --non-zero-exit-code error

# The dependency layer alone, into build/layer (same build as in `make synth`).
layer: $(STAMP)
	$(BIN)/python -m infra.bundling build build/layer

clean:
	rm -rf $(VENV) demo-out .tachiai .tachiai-local build *.egg-info .pytest_cache .mypy_cache .ruff_cache \
		cdk.out node_modules
