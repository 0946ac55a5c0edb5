# vireo: the two commands a newcomer needs are `make demo` and `make test` (see README.md).
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MOCHA := npx mocha

.PHONY: help install install-npm install-debs install-tools build lint typecheck \
        test test-unit test-conformance test-integration test-e2e test-cluster demo bench bench-tiny clean cluster-up cluster-down cluster-status cluster-logs

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

install-tools: ## Go-built control plane, helm, kwok and the grpc-go xDS client, cached under ~/.cache
	@test/cluster/build.sh
	@test/conformance/clients/build-go.sh >/dev/null
	@test/bench/xds/build.sh >/dev/null

build: install-npm ## compile src/ and mesh/ to dist/
	npm run --silent build

typecheck: install-npm
	npm run --silent typecheck

lint: install-npm install-debs ## ESLint, Prettier, circular imports, shellcheck
	npm run --silent lint
	scripts/check-chart.sh
	shellcheck -x .ci/run scripts/*.sh test/cluster/*.sh test/cluster/node-agent/*.sh test/conformance/clients/*.sh test/bench/xds/*.sh

test: install typecheck lint test-unit test-conformance test-cluster bench-tiny ## every tier, fastest first (what CI runs)

test-unit: install-npm ## pure logic and loopback components
	$(MOCHA) 'test/unit/**/*.test.ts'

test-conformance: install ## the xDS control plane against grpc-js-xds, gRPC C-core and grpc-go clients
	$(MOCHA) 'test/conformance/**/*.test.ts'

# The root hooks start the local cluster (or reuse a running one) and stop it afterwards if they
# started it; VIREO_KEEP_CLUSTER=1 leaves it running.
test-integration: install ## against the local cluster: real kube-apiserver, Prometheus, node agent
	$(MOCHA) --require test/integration/hooks.ts 'test/integration/**/*.test.ts'

test-e2e: install ## whole releases of the example app, vireo installed with its Helm chart
	$(MOCHA) --require test/integration/hooks.ts 'test/e2e/**/*.test.ts'

# Both cluster tiers in one run, so the cluster starts once: integration first, then end to end.
test-cluster: install
	$(MOCHA) --require test/integration/hooks.ts 'test/integration/**/*.test.ts' 'test/e2e/**/*.test.ts'

# The local cluster: etcd, kube-apiserver, KCM, scheduler, Prometheus and the node agent on
# 127.0.0.1, state in .cluster/ (docs/local-cluster.md).
cluster-up: install-npm install-debs install-tools ## start the local cluster (reuses a healthy one)
	@test/cluster/up.sh

cluster-down: ## stop the local cluster (keeps .cluster/pki and .cluster/logs)
	@test/cluster/down.sh

cluster-status: ## which cluster components run, their PIDs and RSS; nodes and pods
	@test/cluster/status.sh

cluster-logs: ## list cluster logs; POD=ns/name for a pod's logs, COMPONENT=name for a component's
	@test/cluster/logs.sh $(if $(POD),$(POD),$(COMPONENT))

demo: install build ## a healthy release promoted and a faulty one rolled back (KEEP=1 keeps it running)
	@scripts/demo.sh

bench: install ## benchmarks, as ratios to baselines measured in the same run (docs/benchmarks.md)
	node --import tsx test/bench/xds/run.ts
	node --import tsx test/bench/proxy/run.ts
	node --import tsx test/bench/analysis/run.ts

# Every benchmark once at a tiny size, so none of them rots; fails only on errors, never on timing.
bench-tiny: install
	node --import tsx test/bench/xds/run.ts --tiny
	node --import tsx test/bench/proxy/run.ts --tiny
	node --import tsx test/bench/analysis/run.ts --tiny

clean: ## remove build output
	rm -rf dist coverage
