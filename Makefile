# exif-service: `make run` serves the whole API locally, `make test` runs every test.
# Both do their own set-up (virtualenv, pinned dependencies, ExifTool) and reuse it next time.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
HOST ?= 127.0.0.1
EXIFTOOL := layers/exiftool/build/host/exiftool/.version
STAMP := $(VENV)/.installed

.PHONY: run test setup lint format typecheck bench build check-template clean browser screenshots samples

setup: $(STAMP) $(EXIFTOOL)

$(STAMP): requirements.lock pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

$(EXIFTOOL):
	$(MAKE) -C layers/exiftool host

run: setup
	PORT=$(PORT) $(BIN)/exif-service serve --host $(HOST) --port $(PORT)

test: setup browser
	$(BIN)/ruff check functions tests bench
	$(BIN)/ruff format --check functions tests bench
	$(BIN)/mypy
	$(MAKE) --no-print-directory check-template
	$(BIN)/pytest -n 2 --dist loadgroup

# The browser tests drive Debian's Chromium (Playwright's own browser downloads are not used).
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
browser:
	@command -v chromium >/dev/null || { $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium; }

# Signed and labelled sample files for trying provenance and place (tests/support/samples.py).
samples: setup
	$(BIN)/python -m tests.support.samples .exif-service/samples

# Refresh docs/screenshots/ from the browser tests.
screenshots: setup browser
	EXIF_SERVICE_SCREENSHOT_DIR=$(CURDIR)/docs/screenshots $(BIN)/pytest \
		tests/e2e/test_web_viewer.py tests/e2e/test_web_account.py -k "gps_with or strip_downloads or curl or admin_sees"

lint: setup
	$(BIN)/ruff check functions tests bench
	$(BIN)/ruff format --check functions tests bench
	$(BIN)/mypy

format: setup
	$(BIN)/ruff format functions tests bench
	$(BIN)/ruff check --fix functions tests bench

bench: setup
	$(BIN)/python -m bench $(if $(CORPUS),--corpus $(CORPUS),)

# sam build (no container) needs the Lambda runtime's Python on PATH: python3.12, or pyenv's.
SAM_PYTHON_DIR := $(shell for p in python3.12 $$HOME/.pyenv/versions/3.12*/bin/python3.12; do \
	"$$p" -V >/dev/null 2>&1 && { dirname "$$(command -v "$$p")"; break; }; done)

# cfn-lint, sam validate --lint and sam build (no container: checks the build, the layer has no
# perl).
check-template: setup
	$(BIN)/cfn-lint template.yaml
	SAM_CLI_TELEMETRY=0 $(BIN)/sam validate --lint
	$(MAKE) --no-print-directory build
	@du -sb .aws-sam/build/*-Shared | awk '{ printf "code package, unzipped: %d MB of the 250 MB Lambda allows with layers (ExifTool layer: about 90 MB with perl and the C2PA library)\n", $$1 / 1048576 }'

# The packages sam deploy uploads (SAM_BUILD_FLAGS=--use-container for a deployable layer). The
# build-performance beta builds the shared code package once for all functions instead of
# copying it into each function's directory. sam build copies no bytecode and /var/task is
# read-only, so without __pycache__ each cold start would compile every module it imports
# (about 1.2 s more for the extract function, bench/cold_start.py): the runtime's Python
# compiles them here, unchecked-hash so the zip's file times cannot make Lambda ignore them.
# Only the models of the AWS services the functions call stay in botocore's data (about 21 MB of
# the others go): creating a client lists every model it has (tests/infra/test_package.py keeps
# this list in step with the code).
LAMBDA_AWS_SERVICES := dynamodb s3 ssm
build: setup
	@test -n "$(SAM_PYTHON_DIR)" || { echo "sam build needs python3.12 on PATH" >&2; exit 1; }
	PATH="$(SAM_PYTHON_DIR):$$PATH" SAM_CLI_TELEMETRY=0 SAM_CLI_BETA_BUILD_PERFORMANCE=1 \
		$(BIN)/sam build --cached --parallel $(SAM_BUILD_FLAGS)
	for data in .aws-sam/build/*/botocore/data; do \
		find "$$data" -mindepth 1 -maxdepth 1 -type d \
			$(foreach service,$(LAMBDA_AWS_SERVICES),! -name $(service)) -exec rm -rf {} +; \
	done
	$(SAM_PYTHON_DIR)/python3.12 -m compileall -q -f -j 0 --invalidation-mode unchecked-hash \
		.aws-sam/build

lock:
	$(BIN)/python -m pip freeze --exclude-editable | grep -v '^exif-service' > requirements.lock

clean:
	rm -rf $(VENV) layers/exiftool/build .exif-service
