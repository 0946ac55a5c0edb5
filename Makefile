# vireo: the two commands a newcomer needs are `make demo` and `make test` (see README.md).
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MOCHA := npx mocha

.PHONY: help install install-npm install-debs install-tools build lint typecheck \
        test test-unit demo bench clean

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-18s %s\n", $$1, $$2}'

install: install-npm install-debs install-tools ## install everything the tests and the demo need

# npm ci only when the lock file changed since the last install.
install-npm: node_modules/.package-lock.json
node_modules/.package-lock.json: package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

install-debs: ## Debian packages (Prometheus, iproute2, ...), skipping those present
	@scripts/install-debs.sh

install-tools: ## Go-built control plane, helm and kwok, cached under ~/.cache/vireo-cluster
	@test/cluster/build.sh

build: install-npm ## compile src/ and mesh/ to dist/
	npm run --silent build

typecheck: install-npm
	npm run --silent typecheck

lint: install-npm ## ESLint, Prettier and the circular-import check
	npm run --silent lint

test: install typecheck lint test-unit ## every test tier, fastest first (what CI runs)

test-unit: install-npm ## pure logic and loopback components
	$(MOCHA) 'test/unit/**/*.test.ts'

demo: ## a healthy release promoted and a faulty one rolled back, on the local cluster
	@echo "make demo: not built yet (issue 10). It will start the local cluster, install vireo"
	@echo "with its Helm chart, deploy the example app, release a healthy version (promoted)"
	@echo "and a faulty one (rolled back), printing a live timeline."
	@exit 1

bench: ## benchmarks against baselines measured in the same run
	@echo "make bench: no benchmarks yet (they arrive with the proxy and xDS issues)."
	@exit 1

clean: ## remove build output
	rm -rf dist coverage
