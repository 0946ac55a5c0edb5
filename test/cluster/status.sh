#!/usr/bin/env bash
# Which components of the local cluster run, their PIDs and RSS, and a node and pod summary.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"

declare -A PORT_OF=(
  [etcd]=$ETCD_PORT [prometheus]=$PROMETHEUS_PORT [kube-apiserver]=$APISERVER_PORT
  [kube-controller-manager]=$KCM_PORT [kube-scheduler]=$SCHEDULER_PORT [node-agent]=-
  [kube-proxy]=$KUBE_PROXY_HEALTHZ_PORT [coredns]=$COREDNS_READY_PORT
)
if [[ -f $D/ports ]]; then
  for kv in $(<"$D/ports"); do
    [[ -n ${PORT_OF[${kv%%=*}]+x} ]] && PORT_OF[${kv%%=*}]=${kv#*=}
  done
fi

# Descendants of a PID (pods the node agent runs), from one ps snapshot.
descendants() {
  ps -eo pid=,ppid= | awk -v root="$1" '
    { parent[$1] = $2 }
    END { for (p in parent) { q = p; while (q in parent && q != root && q > 1) q = parent[q]; if (q == root && p != root) print p } }'
}

printf '%-24s %-8s %-8s %-7s %s\n' COMPONENT STATE PID PORT RSS
running=0 total_kb=0
for c in "${COMPONENTS[@]}"; do
  pid=$(component_pid "$c")
  if [[ -n $pid ]]; then
    kb=$(rss_kb "$pid")
    kb=${kb:-0}
    extra=""
    if [[ $c == node-agent ]]; then
      kids=0 kids_kb=0
      for k in $(descendants "$pid"); do
        r=$(rss_kb "$k")
        kids=$((kids + 1)) kids_kb=$((kids_kb + ${r:-0}))
      done
      ((kids)) && extra=" (+ $(mb_of_kb "$kids_kb") MB in $kids child processes)"
      total_kb=$((total_kb + kids_kb))
    fi
    total_kb=$((total_kb + kb))
    running=$((running + 1))
    printf '%-24s %-8s %-8s %-7s %s MB%s\n' "$c" running "$pid" "${PORT_OF[$c]}" "$(mb_of_kb "$kb")" "$extra"
  elif [[ -f $PIDS/$c.pid ]]; then
    printf '%-24s %-8s %-8s %-7s -\n' "$c" DEAD "$(<"$PIDS/$c.pid")" "${PORT_OF[$c]}"
  else
    printf '%-24s %-8s %-8s %-7s -\n' "$c" stopped - "${PORT_OF[$c]}"
  fi
done
((running)) && printf '%-24s %-8s %-8s %-7s %s MB\n' total "" "" "" "$(mb_of_kb "$total_kb")"
if [[ -f $D/etcd-data-dir ]]; then
  echo "etcd data: $(<"$D/etcd-data-dir") ($(du -sh "$(<"$D/etcd-data-dir")" 2>/dev/null | cut -f1))"
fi

if [[ -f $NET_STATE ]]; then
  echo
  echo "network ($NET_STATE): $(tr '\n' ';' <"$NET_STATE")"
  echo "  route: $(ip route show "$SERVICE_CIDR" 2>/dev/null || echo none)"
  iptables -w -t mangle -L "$GUARD_FWD" -v -n -x 2>/dev/null | tail -n +3 | sed 's/^/  forward guard: /' || echo "  forward guard: MISSING"
fi

if [[ -z $(component_pid kube-apiserver) ]]; then
  ((running)) || echo "cluster is not running (make cluster-up)"
  exit 0
fi
echo
echo "export KUBECONFIG=$KUBECONFIG_FILE"
echo
echo "nodes:"
kube get nodes -o wide 2>&1 || true
echo
echo "pods:"
pods=$(kube get pods -A -o wide 2>&1 || true)
n=$(($(wc -l <<<"$pods") - 1))
if ((n > 30)); then
  head -n 31 <<<"$pods"
  echo "... $((n - 30)) more pods"
else
  echo "$pods"
fi
if [[ -n $(component_pid prometheus) ]]; then
  echo
  curl -sf -m 2 "http://127.0.0.1:${PORT_OF[prometheus]}/api/v1/targets?state=active" |
    jq -r '.data.activeTargets | group_by(.labels.job)[] |
      "prometheus job \(.[0].labels.job): \(length) targets, \(map(select(.health == "up")) | length) up"' 2>/dev/null ||
    echo "prometheus: targets API not answering"
fi
