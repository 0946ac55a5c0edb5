#!/usr/bin/env bash
# The sequential judge on the local cluster (issue 16), not part of make test (it takes minutes
# per release): in namespace $NS, podinfo with the demo's canary Rollout and load, then N healthy
# releases whose new pods are slow on their first COLD requests, then the demo's faulty release
# (v3-faulty, 30 % of requests 500). Prints per release: promoted / rolled back / paused, seconds,
# the canary requests answered and failed (status.judge, up to the decision) and what the load
# generator's users saw (its per-second summary lines, summed as scripts/demo.sh does).
# Needs a vireo controller watching $NS (e.g. the chart installed as scripts/demo.sh does).
#   KUBECONFIG=/work/main/.cluster/kubeconfig NS=judge-trial N=10 scripts/judge-trial.sh
# Pods run the node agent's checkout; the app runs from this checkout's examples/app/server.ts
# (its --cold-requests), so the trial works before that option reaches the agent's.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export KUBECONFIG=${KUBECONFIG:-$ROOT/.cluster/kubeconfig}
CLUSTER=$(dirname "$KUBECONFIG")
NS=${NS:-judge-trial}
N=${N:-10}
FIRST=${FIRST:-2} # the first healthy version: v$FIRST
COLD=${COLD:-10}
COLD_MS=${COLD_MS:-1500}
FAULTY=${FAULTY:-1}
KEEP=${KEEP:-0}
KUBECTL=/usr/lib/google-cloud-sdk/bin/kubectl.1.33
[[ -x $KUBECTL ]] || KUBECTL=kubectl
k() { $KUBECTL -n "$NS" "$@"; }

cleanup() {
  local rc=$?
  if [[ $KEEP != 1 ]]; then $KUBECTL delete namespace "$NS" --wait=false >/dev/null 2>&1 || true; fi
  exit "$rc"
}
trap cleanup EXIT

# The demo's manifests, moved into $NS: no alerts (no provider here), one replica per side.
ns_of() { sed -e "s/namespace: demo/namespace: $NS/" -e "s/podinfo\.demo/podinfo.$NS/g" "$@"; }
$KUBECTL create namespace "$NS" --dry-run=client -o yaml | $KUBECTL apply -f - >/dev/null
$KUBECTL label namespace "$NS" vireo.dev/inject=enabled --overwrite >/dev/null
ns_of examples/demo/podinfo.yaml | sed 's/replicas: 2/replicas: 1/' | $KUBECTL apply -f - >/dev/null
# 40 req/s: what the judge needs to show a healthy canary within its margins (docs/analysis.md).
ns_of examples/demo/loadgen.yaml | sed 's/"--rps=20"/"--rps=40"/' | $KUBECTL apply -f - >/dev/null
k delete deployment loadgen-insider --ignore-not-found >/dev/null
ns_of examples/demo/rollout-canary-judged.yaml | sed '/^  alerts:/,$d' | $KUBECTL apply -f - >/dev/null
k wait rollout/podinfo --for=jsonpath='{.status.phase}'=Initialized --timeout=5m >/dev/null
k wait deployment/loadgen --for=condition=Available --timeout=3m >/dev/null

loadgen_log() {
  local pod
  pod=$(k get pods -l app=loadgen -o jsonpath='{.items[0].metadata.name}')
  cat "$CLUSTER/logs/pods/${NS}_$pod/loadgen.log" 2>/dev/null || true
}
# failed and sent, from the summary lines after the first $1.
user_view() {
  loadgen_log | tail -n +"$(($1 + 1))" | awk '
    / sent / { for (i = 1; i < NF; i++) { if ($i == "sent") s += $(i+1); if ($i == "5xx" || $i == "errors") f += $(i+1) } }
    END { printf "%d %d", f, s }'
}

# release VERSION COLD: the app from this checkout, a new version label and image tag.
release() {
  local version=$1 cold=$2
  local command="[\"node\",\"--import\",\"tsx\",\"$ROOT/examples/app/server.ts\"]"
  local args="[\"--version=$version\",\"--cold-requests=$cold\",\"--cold-ms=$COLD_MS\"]"
  k patch deployment podinfo -p "{\"spec\":{\"template\":{\"metadata\":{\"labels\":{\"version\":\"$version\"}},\"spec\":{\"containers\":[{\"name\":\"app\",\"image\":\"vireo/demo-app:$version\",\"command\":$command,\"args\":$args}]}}}}" >/dev/null
}

# One line per release; waits for Succeeded, Failed or Paused (or 20 minutes).
trial() {
  local version=$1 cold=$2 mark start phase="" rev
  mark=$(loadgen_log | wc -l)
  rev=$(k get rollout podinfo -o jsonpath='{.status.canaryRevision}')
  start=$(date +%s)
  release "$version" "$cold"
  # Wait for the new run to start (a new canary revision), then for it to end.
  while [[ $(k get rollout podinfo -o jsonpath='{.status.canaryRevision}') == "$rev" ]]; do sleep 1; done
  while (($(date +%s) - start < 1200)); do
    phase=$(k get rollout podinfo -o jsonpath='{.status.phase}')
    case $phase in Succeeded | Failed | Paused) break ;; esac
    sleep 2
  done
  local took=$(($(date +%s) - start)) outcome
  case $phase in
    Succeeded) outcome=promoted ;;
    Failed) outcome="rolled back" ;;
    Paused) outcome=paused ;;
    *) outcome="still $phase" ;;
  esac
  sleep 3 # the loadgen's summary lines of the last seconds
  local judge users
  judge=$(k get rollout podinfo -o jsonpath='{.status.judge.canaryRequests} {.status.judge.canaryFailed}')
  users=$(user_view "$mark")
  printf '%-10s %-12s %5ss  canary %4s answered %3s failed  users %s failed of %s\n' \
    "$version" "$outcome" "$took" "${judge% *}" "${judge#* }" "${users% *}" "${users#* }"
  if [[ $phase == Paused ]]; then
    # Why: each check's last word and the latency thresholds the judge placed.
    k get rollout podinfo -o jsonpath='  {.status.message}{"\n"}{range .status.checks[*]}  {.message}{"\n"}{end}  pairs: {.status.judge.metrics[1].pairs}{"\n"}'
  fi
}

echo "judge trial in $NS, $(date -u +%FT%TZ): $N healthy releases (first $COLD requests of each new pod +${COLD_MS} ms), then v3-faulty"
for ((i = FIRST; i < FIRST + N; i++)); do trial "v$i" "$COLD"; done
if [[ $FAULTY == 1 ]]; then trial v3-faulty 0; fi
