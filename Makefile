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

# The Redoc bundle that renders /docs is committed in DOCSUI as npm publishes
# it, beside its version, the npm integrity of its tarball and the SHA-256 of
# each file (a test of server/internal/docsui checks those). REDOC_VERSION,
# an exact version, defaults to the committed one.
DOCSUI := server/internal/docsui
REDOC_VERSION ?= $(shell cat $(DOCSUI)/VERSION)
REDOC_FILES := package/LICENSE package/bundles/redoc.standalone.js package/bundles/redoc.standalone.js.LICENSE.txt
# redoc-fetch packs redoc@REDOC_VERSION into $$tmp/package and checks the
# tarball against the integrity npm publishes for it; it sets $$integrity.
define redoc-fetch
[[ '$(REDOC_VERSION)' =~ ^[0-9]+\.[0-9]+\.[0-9]+$$ ]] || { echo "REDOC_VERSION=$(REDOC_VERSION): give an exact version, such as 2.5.4"; exit 1; } && \
integrity=$$(npm view 'redoc@$(REDOC_VERSION)' dist.integrity) && \
[ -n "$$integrity" ] || { echo "redoc@$(REDOC_VERSION) is not on npm"; exit 1; } && \
(cd "$$tmp" && npm pack --silent 'redoc@$(REDOC_VERSION)' >/dev/null) && \
got=$$(node -e 'const fs = require("fs"), crypto = require("crypto"); process.stdout.write("sha512-" + crypto.createHash("sha512").update(fs.readFileSync(process.argv[1])).digest("base64"))' "$$tmp/redoc-$(REDOC_VERSION).tgz") && \
[ "$$got" = "$$integrity" ] || { echo "redoc-$(REDOC_VERSION).tgz is $$got, npm says $$integrity"; exit 1; } && \
tar -xzf "$$tmp/redoc-$(REDOC_VERSION).tgz" -C "$$tmp" $(REDOC_FILES)
endef

.PHONY: update-redoc
update-redoc: ## Refresh the Redoc bundle of /docs from npm (REDOC_VERSION=x.y.z for another version), with its hashes.
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	$(redoc-fetch) && \
	cp $(addprefix "$$tmp"/,$(REDOC_FILES)) $(DOCSUI)/ && \
	echo '$(REDOC_VERSION)' >$(DOCSUI)/VERSION && \
	echo "$$integrity" >$(DOCSUI)/INTEGRITY && \
	(cd $(DOCSUI) && sha256sum $(notdir $(REDOC_FILES)) >SHA256SUMS) && \
	echo "$(DOCSUI): redoc $(REDOC_VERSION), $$integrity; now run the /docs tests: go test -count=1 ./server/ ./server/internal/docsui/"

.PHONY: check-redoc
check-redoc: ## Check the committed Redoc bundle against npm: the version's integrity and every file's SHA-256.
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	$(redoc-fetch) && \
	[ "$$integrity" = "$$(cat $(DOCSUI)/INTEGRITY)" ] || { echo "$(DOCSUI)/INTEGRITY is not npm's integrity of redoc@$(REDOC_VERSION): $$integrity"; exit 1; } && \
	for f in $(REDOC_FILES); do cmp -s "$$tmp/$$f" "$(DOCSUI)/$$(basename $$f)" || { echo "$(DOCSUI)/$$(basename $$f) differs from redoc@$(REDOC_VERSION)'s $$f"; exit 1; }; done && \
	(cd $(DOCSUI) && sha256sum --quiet -c SHA256SUMS) && \
	echo "$(DOCSUI) is redoc@$(REDOC_VERSION) as npm publishes it"

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
	cd internal/tools/specdiff && GOWORK=off $(GO) vet ./...

.PHONY: test
test: ## Run every test (the README's test command); PostgreSQL too when HANDINGER_TEST_POSTGRES_URL is set.
	$(GO) test -count=1 ./...
	cd internal/tools/specdiff && GOWORK=off $(GO) test -count=1 ./...

# BASE is the revision spec-diff compares with; empty: the merge base with
# main, or HEAD~1 on main. SPEC_DIFF_MARKDOWN names a file the report is
# appended to as Markdown (e.g. $GITHUB_STEP_SUMMARY).
BASE ?=
SPEC_DIFF_MARKDOWN ?=

.PHONY: spec-diff
spec-diff: ## Review openapi.yaml and the public Go API against BASE: the changelog; fails on a break not in openapi.allow.yaml or an info.version that does not carry the changes.
	cd internal/tools/specdiff && GOWORK=off $(GO) run . -repo '$(CURDIR)' \
		$(if $(BASE),-base '$(BASE)') $(if $(SPEC_DIFF_MARKDOWN),-markdown '$(SPEC_DIFF_MARKDOWN)')

.PHONY: actionlint
actionlint: ## Check the GitHub Actions workflows (actionlint, pinned in internal/tools/actionlint).
	cd internal/tools/actionlint && GOWORK=off $(GO) tool actionlint -shellcheck= $(CURDIR)/.github/workflows/*.yml

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

# EXAMPLES_MODCACHE is the module cache `make examples` builds the example
# modules in. Empty (the default): a fresh one in a temporary directory,
# removed afterwards, so that each example proves it builds from its own
# go.mod and go.sum. `make examples EXAMPLES_MODCACHE=$(go env GOMODCACHE)`
# reuses the usual one (an absolute path, as GOMODCACHE must be).
EXAMPLES_MODCACHE ?=

.PHONY: examples
examples: ## Generate, build, vet and test every module examples/*/go.mod with GOWORK=off, in a fresh module cache (or EXAMPLES_MODCACHE).
	@cache='$(EXAMPLES_MODCACHE)'; \
	if [ -z "$$cache" ]; then cache=$$(mktemp -d) && trap 'chmod -R u+w "$$cache" && rm -rf "$$cache"' EXIT; fi; \
	for mod in examples/*/go.mod; do \
		dir=$$(dirname "$$mod"); echo "--- $$dir"; \
		(cd "$$dir" && export GOWORK=off GOMODCACHE="$$cache" && \
			$(GO) generate ./... && $(GO) build -o /dev/null ./... && $(GO) vet ./... && $(GO) test -count=1 ./...) || exit 1; \
	done

.PHONY: ogen-check
ogen-check: ## Generate ogen's client and server from openapi.yaml and build them (internal/tools/ogencheck); fails on a warning not accepted there.
	cd internal/tools/ogencheck && GOWORK=off $(GO) test -count=1 -v ./...

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
