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
test: ## Run every test (the README's test command).
	$(GO) test -count=1 ./...

FUZZTIME ?= 10s

.PHONY: fuzz
fuzz: ## Run every fuzz target for FUZZTIME each (default 10s).
	@for pkg in $$($(GO) list ./... ); do \
		for target in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
			echo "--- $$pkg $$target"; \
			$(GO) test -run '^$$' -fuzz "^$$target$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
		done; \
	done

LOADFLAGS ?= --clients 32 --duration 20s

.PHONY: load
load: ## Load-test a fresh server on SQLite over loopback (LOADFLAGS, e.g. --mix create=1).
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	$(GO) build -o "$$tmp/handinger" ./cmd/handinger && \
	$(GO) run ./internal/cmd/loadgen --spawn "$$tmp/handinger" $(LOADFLAGS)

.PHONY: run
run: ## Run the server on its embedded SQLite default.
	$(GO) run ./cmd/handinger serve

.PHONY: bench
bench: ## Run the Go benchmarks (-benchmem) and print throughput ratios (BENCH=regexp, BENCHCOUNT=n).
	$(GO) test -run '^$$' -bench '$(BENCH)' -benchmem -count $(BENCHCOUNT) ./... | $(GO) run ./internal/benchratio
