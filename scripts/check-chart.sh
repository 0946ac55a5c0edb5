#!/usr/bin/env bash
# Lints the Helm chart: its CRDs are exact copies of crds/ (helm installs them from the chart's
# crds/ folder, so the two must not drift), `helm lint --strict` passes and `helm template`
# renders. helm is the one test/cluster/build.sh builds (make install-tools).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=SCRIPTDIR/../test/cluster/versions.env
source "$ROOT/test/cluster/versions.env"
CACHE=${VIREO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vireo-cluster}
HELM=${HELM:-${VIREO_CLUSTER_BIN:-$CACHE/k8s-$K8S_VERSION-etcd-$ETCD_VERSION}/helm}
CHART=$ROOT/charts/vireo

fail=0
for f in "$ROOT"/crds/*.yaml; do
  copy=$CHART/crds/$(basename "$f")
  if [[ ! -e "$copy" ]]; then
    echo "charts/vireo/crds/$(basename "$f") is missing: cp crds/*.yaml charts/vireo/crds/" >&2
    fail=1
  elif ! cmp -s "$f" "$copy"; then
    echo "charts/vireo/crds/$(basename "$f") differs from crds/: cp crds/*.yaml charts/vireo/crds/" >&2
    fail=1
  fi
done
for f in "$CHART"/crds/*.yaml; do
  if [[ ! -e "$ROOT/crds/$(basename "$f")" ]]; then
    echo "charts/vireo/crds/$(basename "$f") has no source in crds/: remove it" >&2
    fail=1
  fi
done
((fail == 0)) || exit 1

[[ -x "$HELM" ]] || { echo "no helm at $HELM (make install-tools)" >&2; exit 1; }
"$HELM" lint --strict "$CHART" >/dev/null
"$HELM" template vireo "$CHART" --namespace vireo-system --include-crds >/dev/null
echo "chart: CRDs in sync, helm lint and helm template pass"
