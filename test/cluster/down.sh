#!/usr/bin/env bash
# Stops the local cluster started by up.sh, by its saved PIDs only: the node agent first (SIGTERM,
# up to 30 s, since it tears down pods and network namespaces), then the rest; SIGKILL after a
# timeout. Removes the etcd tmpfs data and Prometheus's TSDB; keeps pki/ and logs/. Idempotent.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"

if [[ ! -d $D ]]; then
  say "nothing to stop ($D does not exist)"
  exit 0
fi
take_lock
stop_all
say "cluster down (logs kept in $LOGS)"
