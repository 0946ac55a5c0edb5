#!/usr/bin/env bash
# make demo: on the local cluster, install vireo with its Helm chart, deploy the example app and a
# gRPC service into a namespace labelled for sidecar injection (the manifests carry no proxy), with
# load, then release a healthy version (promoted) and a faulty one (rolled back automatically),
# and a healthy gRPC version, printing a live timeline. KEEP=1 leaves everything running.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export KUBECONFIG=$ROOT/.cluster/kubeconfig
KUBECTL=/usr/lib/google-cloud-sdk/bin/kubectl.1.33
[[ -x $KUBECTL ]] || KUBECTL=kubectl
# shellcheck source=test/cluster/versions.env
source test/cluster/versions.env
HELM=${HOME}/.cache/vireo-cluster/k8s-$K8S_VERSION-etcd-$ETCD_VERSION/helm
VIREO=(node --import tsx "$ROOT/src/cli/main.ts")
LOGS=$ROOT/.cluster/demo
mkdir -p "$LOGS"
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

started_cluster=0
[[ -f .cluster/pids/kube-apiserver.pid ]] || started_cluster=1
cleanup() {
  local rc=$?
  if [[ -n ${receiver_pid:-} ]]; then kill "$receiver_pid" 2>/dev/null || true; fi
  if [[ ${KEEP:-0} == 1 ]]; then
    cat <<MSG

Everything is still running. To explore:
  export KUBECONFIG=$KUBECONFIG
  kubectl -n demo get rollouts -w
  node --import tsx src/cli/main.ts status podinfo -n demo --watch
  make cluster-logs POD=demo/<pod>          # e.g. the loadgen's per-second summary
  Prometheus: http://127.0.0.1:19090        (vireo_requests_total{reporter="destination"})
  Release again: kubectl -n demo patch deployment podinfo -p '{"spec":{"template":{"metadata":{"labels":{"version":"v4"}},"spec":{"containers":[{"name":"app","image":"vireo/demo-app:v4"}]}}}}'
  make cluster-down                          # stops it all
MSG
    exit "$rc"
  fi
  say "cleaning up"
  "$HELM" uninstall vireo -n vireo-system >/dev/null 2>&1 || true
  $KUBECTL delete namespace demo vireo-system --wait=false >/dev/null 2>&1 || true
  if ((started_cluster)); then make --no-print-directory cluster-down >/dev/null 2>&1 || true; fi
  exit "$rc"
}
trap cleanup EXIT

say "starting the local cluster"
make --no-print-directory cluster-up

say "starting the alert receiver (AlertProvider 'webhook' posts here)"
node --import tsx examples/receiver/receiver.ts --host 10.244.0.1 --port 18090 >"$LOGS/receiver.log" 2>&1 &
receiver_pid=$!

say "installing vireo with its Helm chart"
"$HELM" upgrade --install vireo charts/vireo -n vireo-system --create-namespace \
  -f examples/demo/values-local.yaml --wait --timeout 3m
$KUBECTL -n vireo-system get pods

say "deploying the example into namespace demo (labelled vireo.dev/inject=enabled): podinfo v1, load generators, the gRPC Greeter and its client, two canary Rollouts"
$KUBECTL apply -f examples/demo/namespace.yaml
$KUBECTL apply -f examples/demo/security.yaml -f examples/demo/podinfo.yaml \
  -f examples/demo/loadgen.yaml -f examples/demo/alertprovider.yaml -f examples/demo/rollout-canary.yaml \
  -f examples/demo/grpc.yaml -f examples/demo/rollout-grpc.yaml
$KUBECTL -n demo wait rollout/podinfo rollout/greeter --for=jsonpath='{.status.phase}'=Initialized --timeout=3m
$KUBECTL -n demo get rollouts
echo "containers of a podinfo pod, as the injector made them (the manifest names only 'app'):"
$KUBECTL -n demo get pods -l app=podinfo-primary \
  -o jsonpath='{range .items[0]}  init: {.spec.initContainers[*].name}{"\n"}  app:  {.spec.containers[*].name}{"\n"}{end}'

# The load generator's per-second summary lines (examples/loadgen) so far.
loadgen_log() {
  local pod
  pod=$($KUBECTL -n demo get pods -l app=loadgen -o jsonpath='{.items[0].metadata.name}')
  cat "$ROOT/.cluster/logs/pods/demo_$pod/loadgen.log" 2>/dev/null || true
}
# Sums what users saw in the summary lines after the first $1: sent, and failed (5xx + no answer).
user_view() {
  loadgen_log | tail -n +"$(($1 + 1))" | awk '
    / sent / { for (i = 1; i < NF; i++) { if ($i == "sent") s += $(i+1); if ($i == "5xx" || $i == "errors") f += $(i+1) } }
    END { printf "%d of %d user requests failed", f, s }'
}

# release VERSION [DEPLOYMENT CONTAINER IMAGE]: a new image and version label together.
release() {
  local version=$1 deploy=${2:-podinfo} container=${3:-app} image=${4:-vireo/demo-app}
  $KUBECTL -n demo patch deployment "$deploy" -p \
    "{\"spec\":{\"template\":{\"metadata\":{\"labels\":{\"version\":\"$version\"}},\"spec\":{\"containers\":[{\"name\":\"$container\",\"image\":\"$image:$version\"}]}}}}" >/dev/null
  $KUBECTL -n demo wait "rollout/$deploy" --for=jsonpath='{.status.phase}'=Progressing --timeout=2m >/dev/null
}

say "releasing v2 (healthy): weights step 10 → 30 → 60, each confirmed by every proxy, then promotion"
mark=$(loadgen_log | wc -l)
release v2
"${VIREO[@]}" status podinfo -n demo --watch --timeout 10m
echo "what users saw during the v2 release: $(user_view "$mark")"

say "releasing v3-faulty (30 % of requests fail): the checks fail and vireo rolls back by itself"
mark=$(loadgen_log | wc -l)
release v3-faulty
if "${VIREO[@]}" status podinfo -n demo --watch --timeout 10m; then
  echo "v3-faulty was promoted: the checks did not catch it" >&2
  exit 1
fi
echo "what users saw before the rollback: $(user_view "$mark") (the canary had 10 % of traffic)"

say "releasing the gRPC Greeter v2: the same steps, gRPC calls split by the proxies, grpc-status counted"
release v2 greeter greeter vireo/grpc-greeter
"${VIREO[@]}" status greeter -n demo --watch --timeout 10m

say "kubectl get rollouts"
$KUBECTL -n demo get rollouts -o wide
say "notifications received"
# shellcheck disable=SC2016 # a JavaScript template literal, not a shell expansion
curl -s http://10.244.0.1:18090/ | node -e '
  let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
    for (const m of JSON.parse(s)) console.log(`  ${m.time}  ${m.body?.event ?? ""}  ${m.body?.message ?? ""}`);
  });'
say "demo finished"
