# shellcheck shell=bash
# shellcheck disable=SC2034  # the variables here are used by the scripts that source this file
# Shared by up.sh, down.sh, status.sh and logs.sh: paths, ports and process bookkeeping of the
# local cluster. Sourced, never run. Processes are only ever found through the PID files written
# here, each checked against the start time recorded with it so that a reused PID is never signalled.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# shellcheck source=SCRIPTDIR/versions.env
source "$ROOT/test/cluster/versions.env"
CACHE=${VIREO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vireo-cluster}
BIN=${VIREO_CLUSTER_BIN:-$CACHE/k8s-$K8S_VERSION-etcd-$ETCD_VERSION}
GATEWAY_API_CRDS=$CACHE/gateway-api-v$GATEWAY_API_VERSION

D=${VIREO_CLUSTER_DIR:-$ROOT/.cluster}
PKI=$D/pki
LOGS=$D/logs
PIDS=$D/pids
KUBECONFIG_FILE=$D/kubeconfig
PROM_DIR=$D/prometheus
AGENT_MAIN=$ROOT/test/cluster/node-agent/main.ts
NODE_NAME=vireo-node

ETCD_PORT=${VIREO_ETCD_PORT:-23790}
ETCD_PEER_PORT=${VIREO_ETCD_PEER_PORT:-23800}
APISERVER_PORT=${VIREO_APISERVER_PORT:-16443}
KCM_PORT=${VIREO_KCM_PORT:-16444}
SCHEDULER_PORT=${VIREO_SCHEDULER_PORT:-16445}
PROMETHEUS_PORT=${VIREO_PROMETHEUS_PORT:-19090}
KUBE_PROXY_HEALTHZ_PORT=${VIREO_KUBE_PROXY_HEALTHZ_PORT:-16446}
KUBE_PROXY_METRICS_PORT=${VIREO_KUBE_PROXY_METRICS_PORT:-16447}
COREDNS_HEALTH_PORT=${VIREO_COREDNS_HEALTH_PORT:-16448}
COREDNS_READY_PORT=${VIREO_COREDNS_READY_PORT:-16449}
PORTS_SPEC="etcd=$ETCD_PORT etcd-peer=$ETCD_PEER_PORT kube-apiserver=$APISERVER_PORT"
PORTS_SPEC+=" kube-controller-manager=$KCM_PORT kube-scheduler=$SCHEDULER_PORT prometheus=$PROMETHEUS_PORT"
PORTS_SPEC+=" kube-proxy=$KUBE_PROXY_HEALTHZ_PORT kube-proxy-metrics=$KUBE_PROXY_METRICS_PORT"
PORTS_SPEC+=" coredns=$COREDNS_READY_PORT coredns-health=$COREDNS_HEALTH_PORT"

# The pods' network (fixed: one local cluster per machine). The node agent, kube-proxy and CoreDNS
# are told the same values.
BRIDGE=vireo0
POD_CIDR=10.244.0.0/16
GATEWAY=10.244.0.1
SERVICE_CIDR=10.96.0.0/16
DNS_SERVICE_IP=10.96.0.10
# What network.sh added to the host, one action per line, undone in reverse by network_down.
NET_STATE=$D/network-state

# Start order; down.sh stops in reverse (node agent first).
COMPONENTS=(etcd prometheus kube-apiserver kube-controller-manager kube-scheduler kube-proxy coredns node-agent)

say() { printf '[cluster %s] %s\n' "$(date +%H:%M:%S)" "$*"; }
warn() { printf '[cluster %s] WARNING: %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() {
  printf '[cluster %s] ERROR: %s\n' "$(date +%H:%M:%S)" "$*" >&2
  exit 1
}

# Serialises up.sh and down.sh of one state dir. Started daemons must not inherit fd 9.
take_lock() {
  mkdir -p "$D"
  exec 9>"$D/.lock"
  if ! flock -n 9; then
    say "waiting for another up.sh/down.sh on $D"
    flock 9
  fi
}

# Field 22 of /proc/PID/stat (start time in clock ticks since boot); empty if no such process.
proc_starttime() {
  local stat rest
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
  rest=${stat##*) }
  local -a f
  read -ra f <<<"$rest"
  [[ ${f[0]} == Z ]] && return 0 # a zombie has exited
  printf '%s\n' "${f[19]}"
}

# PID of a component if the process recorded for it is still the one running, else empty.
component_pid() {
  local name=$1 pid start
  [[ -f $PIDS/$name.pid ]] || return 0
  pid=$(<"$PIDS/$name.pid")
  start=$(cat "$PIDS/$name.start" 2>/dev/null || true)
  [[ $pid =~ ^[0-9]+$ && -n $start && $(proc_starttime "$pid") == "$start" ]] && printf '%s\n' "$pid"
  return 0
}

# start NAME CMD...: runs CMD detached in its own session (so it survives the caller's terminal and
# process group), output to logs/NAME.log, and records PID and start time.
start_component() {
  local name=$1
  shift
  setsid "$@" </dev/null >"$LOGS/$name.log" 2>&1 9>&- &
  local pid=$!
  echo "$pid" >"$PIDS/$name.pid"
  local start=""
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    start=$(proc_starttime "$pid")
    [[ -n $start ]] && break
    sleep 0.05
  done
  echo "$start" >"$PIDS/$name.start"
}

# stop_component NAME TIMEOUT_SECONDS: SIGTERM; after the timeout SIGQUIT (Go components: stack dump),
# then SIGKILL to its process group.
stop_component() {
  local name=$1 timeout=$2 pid
  pid=$(component_pid "$name")
  if [[ -n $pid ]]; then
    kill -TERM "$pid" 2>/dev/null || true
    local deadline=$((SECONDS + timeout))
    while [[ -n $(component_pid "$name") ]] && ((SECONDS < deadline)); do sleep 0.1; done
    if [[ -n $(component_pid "$name") && $name != node-agent ]]; then
      # Go programs print every goroutine's stack on SIGQUIT before exiting: the log says why.
      warn "$name (pid $pid) still running after ${timeout}s: SIGQUIT (goroutine dump in $LOGS/$name.log)"
      kill -QUIT "$pid" 2>/dev/null || true
      deadline=$((SECONDS + 3))
      while [[ -n $(component_pid "$name") ]] && ((SECONDS < deadline)); do sleep 0.1; done
    fi
    if [[ -n $(component_pid "$name") ]]; then
      warn "$name (pid $pid) still running: SIGKILL"
      # setsid made it a process group leader; the group is what it started.
      if [[ $(ps -o pgid= -p "$pid" | tr -d ' ') == "$pid" ]]; then
        kill -KILL -- "-$pid" 2>/dev/null || true
      else
        kill -KILL "$pid" 2>/dev/null || true
      fi
      while [[ -n $(component_pid "$name") ]]; do sleep 0.1; done
    fi
    say "stopped $name (pid $pid)"
  fi
  rm -f "$PIDS/$name.pid" "$PIDS/$name.start"
}

# Stops every component (node agent first, with time to tear down its pods and namespaces) and
# removes the per-run data: the etcd tmpfs dir and Prometheus's TSDB. Keeps pki/ and logs/.
stop_all() {
  mkdir -p "$PIDS"
  stop_component node-agent 30
  local c
  # The rest in parallel, reverse start order; etcd last so the others shut down cleanly.
  for c in coredns kube-proxy kube-scheduler kube-controller-manager prometheus; do stop_component "$c" 15 & done
  wait
  # kube-proxy leaves its rules behind when it exits; the safety route and FORWARD guard go last.
  network_down
  stop_component kube-apiserver 15
  stop_component etcd 15
  if [[ -f $D/etcd-data-dir ]]; then
    local dd
    dd=$(<"$D/etcd-data-dir")
    [[ $dd == /dev/shm/vireo-etcd.* ]] && rm -rf "$dd"
    rm -f "$D/etcd-data-dir"
  fi
  rm -rf "$PROM_DIR/data"
  rm -f "$D/ports"
}

# shellcheck source=SCRIPTDIR/network.sh
source "$ROOT/test/cluster/network.sh"

mb_of_kb() { awk -v k="$1" 'BEGIN { printf "%.0f", k / 1024 }'; }

# RSS of one process in kB (VmRSS), or empty.
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || true; }

# The kubectl on PATH here is a dispatcher (Google Cloud SDK) that runs kubectl.1.<server minor> when
# it has one and its own built-in 1.32 otherwise: 1.32 against a 1.34 server is outside the +-1 skew.
# So pick the versioned binary closest to the server's minor, newest first.
pick_kubectl() {
  local k minor=${K8S_VERSION#1.} v
  minor=${minor%%.*}
  k=$(command -v kubectl) || die "kubectl not found"
  k=$(readlink -f "$k")
  for v in "$minor" $((minor - 1)) $((minor + 1)); do
    if [[ -x ${k%/*}/kubectl.1.$v ]]; then
      printf '%s\n' "${k%/*}/kubectl.1.$v"
      return 0
    fi
  done
  printf '%s\n' "$k"
}
KUBECTL=${KUBECTL:-$(pick_kubectl)}
kube() { "$KUBECTL" --kubeconfig="$KUBECONFIG_FILE" "$@"; }
