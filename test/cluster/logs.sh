#!/usr/bin/env bash
# Logs of the local cluster.
#   logs.sh              lists the component logs
#   logs.sh NAME         prints the last 200 lines of component NAME's log (e.g. kube-apiserver)
#   logs.sh NS/POD       prints that pod's container logs from logs/pods/<ns>_<pod>/*.log
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"

arg=${1:-}
if [[ -z $arg ]]; then
  [[ -d $LOGS ]] || { echo "no logs yet in $LOGS"; exit 0; }
  echo "component logs in $LOGS (make cluster-logs COMPONENT=name, or POD=ns/name for a pod):"
  for f in "$LOGS"/*.log; do
    [[ -e $f ]] || continue
    printf '  %-28s %8s  %s\n' "$(basename "$f" .log)" "$(du -h "$f" | cut -f1)" "$f"
  done
  if [[ -d $LOGS/pods ]]; then
    echo "pod logs (POD=ns/name):"
    for p in "$LOGS"/pods/*/; do
      [[ -d $p ]] || continue
      b=$(basename "$p")
      printf '  %s\n' "${b/_//}"
    done
  fi
  [[ -d $LOGS/previous ]] && echo "the previous run's logs are in $LOGS/previous/"
  exit 0
fi

if [[ $arg == */* ]]; then
  ns=${arg%%/*} name=${arg#*/}
  dir=$LOGS/pods/${ns}_$name
  [[ -d $dir ]] || die "no logs for pod $ns/$name (looked in $dir)"
  shopt -s nullglob
  files=("$dir"/*.log)
  ((${#files[@]})) || die "no *.log files in $dir"
  for f in "${files[@]}"; do
    ((${#files[@]} > 1)) && echo "==> $(basename "$f" .log) <=="
    cat "$f"
  done
  exit 0
fi

f=$LOGS/$arg.log
[[ -f $f ]] || die "no log $f (run without arguments for the list)"
tail -n "${LINES_SHOWN:-200}" "$f"
