# Linli: the two commands that matter are `make run` and `make test`.
SHELL := /bin/bash
CARGO ?= cargo
NPM ?= npm

.PHONY: run test frontend frontend-deps openapi rust-test e2e chromium lint clean

## Build everything and start Linli with the demo district on SQLite at http://127.0.0.1:8080
run: frontend
	$(CARGO) build --release -p linli
	./target/release/linli serve

## Run every test: unit, API (SQLite, and PostgreSQL when TEST_DATABASE_URL is set), browser,
## then scan the run's logs for personal data
test: frontend chromium
	$(CARGO) build -p linli
	rm -rf target/test-logs
	$(CARGO) test --workspace --no-fail-fast
	./tests/e2e.sh
	./tests/privacy-scan.sh

frontend-deps:
	cd frontend && if [ -f node_modules/.package-lock.json ] && [ node_modules/.package-lock.json -nt package-lock.json ]; then echo "npm packages up to date"; else $(NPM) ci --no-audit --no-fund; fi

## The OpenAPI document the frontend's types are generated from
openapi:
	$(CARGO) run -q -p linli -- openapi > frontend/openapi.json.tmp && mv frontend/openapi.json.tmp frontend/openapi.json

frontend: frontend-deps openapi
	cd frontend && $(NPM) run build

## Debian's chromium drives the browser tests; installed when missing and running as root
chromium:
	@if command -v chromium >/dev/null 2>&1 || [ -n "$$CHROMIUM_PATH" ]; then echo "chromium: $$(command -v chromium || echo $$CHROMIUM_PATH)"; \
	elif [ "$$(id -u)" = "0" ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else echo "chromium is missing: install Debian's chromium package (or set CHROMIUM_PATH)"; exit 1; fi

lint:
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

clean:
	$(CARGO) clean
	rm -rf frontend/dist frontend/node_modules

FUZZ_SECONDS ?= 180

.PHONY: fuzz

## Fuzz the ID number, import and boundary parsers for FUZZ_SECONDS each (cargo-fuzz)
fuzz:
	./tests/reliability/fuzz.sh $(FUZZ_SECONDS)

.PHONY: schemathesis

## Schemathesis against the live OpenAPI document, anonymously and as each demo role (SCHEMATHESIS_MAX_EXAMPLES, default 50)
schemathesis:
	./tests/reliability/schemathesis.sh
