# Run `make` (or `make help`) to list the targets.
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c
BENCH ?= .
BENCHCOUNT ?= 3
GO ?= go
OAPI_CODEGEN := $(GO) run github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen
REDOCLY := npx --no-install redocly

.DEFAULT_GOAL := help

.PHONY: help
help: ## List the targets.
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

.PHONY: generate
generate: ## Regenerate gen/ from openapi.yaml and oapi-codegen.yaml.
	$(GO) generate ./gen/...

.PHONY: check-generate
check-generate: ## Fail if gen/ differs from what openapi.yaml generates.
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	sed "s|^output:.*|output: $$tmp/handinger.gen.go|" oapi-codegen.yaml >"$$tmp/config.yaml" && \
	$(OAPI_CODEGEN) -config "$$tmp/config.yaml" openapi.yaml && \
	if ! diff -u gen/handinger.gen.go "$$tmp/handinger.gen.go" >"$$tmp/diff"; then \
		head -50 "$$tmp/diff"; echo "gen/ is out of date: run 'make generate' and commit the result"; exit 1; \
	fi && \
	extra=$$(ls gen | grep -vxE 'generate.go|handinger.gen.go' || true) && \
	if [ -n "$$extra" ]; then echo "gen/ holds files that are not generated: $$extra"; exit 1; fi && \
	echo "gen/ is up to date"

node_modules/.bin/redocly: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

.PHONY: lint
lint: node_modules/.bin/redocly ## Validate the spec (kin-openapi, Redocly), gofmt and go vet.
	$(GO) test -count=1 -run '^TestSpecValidates$$' ./spec/
	$(REDOCLY) lint --config redocly.yaml openapi.yaml
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); \
	if [ -n "$$unformatted" ]; then echo "gofmt would change: $$unformatted"; exit 1; fi
	$(GO) vet ./...

.PHONY: test
test: ## Run every test (the README's test command); PostgreSQL too when HANDINGER_TEST_POSTGRES_URL is set.
	$(GO) test -count=1 ./...

# The PostgreSQL database the Postgres targets use; every test makes a schema
# of its own in it and drops it afterwards.
HANDINGER_TEST_POSTGRES_URL ?= postgres://postgres@127.0.0.1:5432/test?sslmode=disable

.PHONY: test-postgres
test-postgres: ## Run every test on SQLite and on PostgreSQL (HANDINGER_TEST_POSTGRES_URL).
	HANDINGER_TEST_POSTGRES_URL='$(HANDINGER_TEST_POSTGRES_URL)' $(GO) test -count=1 ./...

.PHONY: test-crash
test-crash: ## Kill -9 replicas on PostgreSQL under load, 20 times, and check nothing was lost.
	HANDINGER_TEST_POSTGRES_URL='$(HANDINGER_TEST_POSTGRES_URL)' HANDINGER_TEST_CRASH=1 \
		$(GO) test -count=1 -v -run '^TestCrashUnderLoad$$' ./cmd/handinger/

FUZZTIME ?= 10s

.PHONY: fuzz
fuzz: ## Run every fuzz target for FUZZTIME each (default 10s); those over a database on PostgreSQL too when HANDINGER_TEST_POSTGRES_URL is set.
	@for pkg in $$($(GO) list ./... ); do \
		for target in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
			echo "--- $$pkg $$target"; \
			$(MAKE) -s fuzz-one PKG=$$pkg TARGET=$$target || exit 1; \
			if [ -n "$$HANDINGER_TEST_POSTGRES_URL" ] && grep -qs 'testdb\.DSN' $$($(GO) list -f '{{.Dir}}' $$pkg)/*_test.go; then \
				echo "--- $$pkg $$target on PostgreSQL"; \
				HANDINGER_TEST_BACKEND=postgres $(MAKE) -s fuzz-one PKG=$$pkg TARGET=$$target || exit 1; \
			fi; \
		done; \
	done

# fuzz-one runs one target. Go's fuzz coordinator can fail a run with a bare
# "context deadline exceeded" at the end of a -fuzztime window on a busy machine
# (go.dev/issue/75804, fixed in Go 1.27): a run that ends so without having
# written a failing input is run once more; any other failure fails at once.
.PHONY: fuzz-one
fuzz-one:
	@log=$$(mktemp) && trap 'rm -f "$$log"' EXIT; \
	for try in 1 2; do \
		if $(GO) test -run '^$$' -fuzz '^$(TARGET)$$' -fuzztime $(FUZZTIME) $(PKG) 2>&1 | tee "$$log"; [ $${PIPESTATUS[0]} -eq 0 ]; then exit 0; fi; \
		if [ $$try -eq 1 ] && grep -q 'context deadline exceeded' "$$log" && ! grep -q 'Failing input written' "$$log"; then \
			echo "--- $(TARGET): the fuzz coordinator's deadline race (go.dev/issue/75804), no failing input: once more"; \
			continue; \
		fi; \
		exit 1; \
	done

LOADFLAGS ?= --clients 64 --duration 20s

.PHONY: load
load: ## Load-test one server on SQLite, then two replicas on PostgreSQL, over loopback (LOADFLAGS).
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	$(GO) build -o "$$tmp/handinger" ./cmd/handinger && \
	$(GO) build -o "$$tmp/loadgen" ./internal/cmd/loadgen && \
	echo "== one server, SQLite" && \
	"$$tmp/loadgen" --spawn "$$tmp/handinger" $(LOADFLAGS) && \
	echo && echo "== two replicas, PostgreSQL" && \
	"$$tmp/loadgen" --spawn "$$tmp/handinger" --db '$(HANDINGER_TEST_POSTGRES_URL)' --replicas 2 $(LOADFLAGS)

.PHONY: run
run: ## Run the server on its embedded SQLite default.
	$(GO) run ./cmd/handinger serve

.PHONY: bench
bench: ## Run the Go benchmarks (-benchmem) and print throughput ratios (BENCH=regexp, BENCHCOUNT=n).
	$(GO) test -run '^$$' -bench '$(BENCH)' -benchmem -count $(BENCHCOUNT) ./... | $(GO) run ./internal/benchratio
