#!/usr/bin/env bash
# Builds the local cluster's control plane and tools from the Go module proxy, once per version,
# into $HOME/.cache/vireo-cluster/<versions>. Safe to rerun: finished binaries are skipped.
set -euo pipefail
# shellcheck source=SCRIPTDIR/versions.env
source "$(dirname "$0")/versions.env"
CACHE=${VIREO_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vireo-cluster}
BIN="$CACHE/k8s-$K8S_VERSION-etcd-$ETCD_VERSION"
mkdir -p "$BIN"
export GOTOOLCHAIN=local CGO_ENABLED=0
MINOR=${K8S_VERSION#1.}; MINOR=${MINOR%%.*}
say() { printf '[build %s] %s\n' "$(date +%H:%M:%S)" "$*"; }

# One build at a time per cache: a second run waits, then finds the binaries done and skips them.
exec 8>"$CACHE/build.lock"
if ! flock -n 8; then
  say "another build.sh holds $CACHE/build.lock: waiting for it to finish"
  flock 8
fi

build_kube() {
  local w; w=$(mktemp -d); trap 'rm -rf "$w"' RETURN
  cd "$w"
  go mod init vireo.invalid/k8sbuild >/dev/null 2>&1
  say "resolving k8s.io/kubernetes@v$K8S_VERSION"
  local gomod
  gomod=$(go mod download -json "k8s.io/kubernetes@v$K8S_VERSION" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",*$/\1/p')
  # Every staging module is required at v0.0.0 upstream; point each at its published v0.<minor>.<patch>.
  local m
  while read -r m; do
    go mod edit -replace="$m=$m@v0.${K8S_VERSION#1.}"
  done < <(sed -n 's#^[[:space:]]*\(k8s\.io/[A-Za-z0-9._-]*\) => \./staging/src/.*#\1#p' "$gomod")
  local gd; gd=$(sed -n 's/^godebug default=\(.*\)$/\1/p' "$gomod")
  [[ -n $gd ]] && go mod edit -godebug=default="$gd"
  say "downloading modules"
  local c cmds=()
  for c in "${KUBE_CMDS[@]}"; do go get "k8s.io/kubernetes/cmd/$c@v$K8S_VERSION"; done
  # Only the missing binaries are built; the packages they share come from the Go build cache.
  for c in "${KUBE_CMDS[@]}"; do [[ -x $BIN/$c ]] || cmds+=("k8s.io/kubernetes/cmd/$c"); done
  local ld="-s -w" p
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld+=" -X $p.gitVersion=v$K8S_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$MINOR"
    ld+=" -X $p.gitTreeState=clean -X $p.buildDate=1970-01-01T00:00:00Z"
  done
  local log=$CACHE/kube-build.log total
  total=$(go list -mod=mod -deps "${cmds[@]}" 2>/dev/null | wc -l) || total="?"
  say "compiling ${cmds[*]##*/} (cold: 15-30 min; log: $log)"
  # -v lists each package as it is compiled (cached ones are not listed): a heartbeat every 30 s.
  go build -v -mod=mod -trimpath -ldflags "$ld" -o "$BIN/" "${cmds[@]}" >"$log" 2>&1 &
  local gb=$! n=0 t0=$SECONDS rc=0
  # shellcheck disable=SC2064  # $gb and $w are meant to be expanded now
  trap "kill $gb 2>/dev/null; rm -rf '$w'; exit 130" INT TERM
  while kill -0 "$gb" 2>/dev/null; do
    sleep 1
    if ((++n % 30 == 0)) && kill -0 "$gb" 2>/dev/null; then
      local e=$((SECONDS - t0))
      say "still compiling: $((e / 60))m$((e % 60))s, $(grep -cv -e ' ' -e '^#' "$log" || true) of at most $total packages compiled"
    fi
  done
  wait "$gb" || rc=$?
  trap - INT TERM
  if ((rc)); then
    say "go build failed (exit $rc); its errors:"
    grep -e ' ' -e '^#' "$log" | tail -n 60 >&2
    return "$rc"
  fi
  say "compiled in $(((SECONDS - t0) / 60))m$(((SECONDS - t0) % 60))s"
}

build_etcd() {
  local w; w=$(mktemp -d); trap 'rm -rf "$w"' RETURN
  cd "$w"
  go mod init vireo.invalid/etcdbuild >/dev/null 2>&1
  say "building etcd v$ETCD_VERSION"
  go get "go.etcd.io/etcd/server/v3@v$ETCD_VERSION"
  go build -mod=mod -trimpath -ldflags "-s -w" -o "$BIN/etcd" go.etcd.io/etcd/server/v3
}

# CoreDNS with the plugins the local cluster's Corefile uses (test/cluster/up.sh), the way
# CoreDNS documents custom builds: its own main package importing coremain and the chosen plugins.
# The full build also links every cloud provider's SDK (route53, azure, clouddns) and tracing
# libraries, about three times as many packages, none of which a local cluster can use.
build_coredns() {
  local w; w=$(mktemp -d); trap 'rm -rf "$w"' RETURN
  cd "$w"
  go mod init vireo.invalid/corednsbuild >/dev/null 2>&1
  say "building coredns v$COREDNS_VERSION"
  local p imports=""
  for p in "${COREDNS_PLUGINS[@]}"; do imports+=$'\t_ "github.com/coredns/coredns/plugin/'"$p"$'"\n'; done
  printf 'package main\n\nimport (\n\t"github.com/coredns/coredns/coremain"\n%s)\n\nfunc main() { coremain.Run() }\n' \
    "$imports" >main.go
  go get "github.com/coredns/coredns@v$COREDNS_VERSION"
  go build -mod=mod -trimpath -ldflags "-s -w" -o "$BIN/coredns" .
}

KUBE_CMDS=(kube-apiserver kube-controller-manager kube-scheduler kube-proxy)
# Plugin packages (directory names under plugin/; "metrics" is the prometheus directive).
COREDNS_PLUGINS=(bind errors log health ready kubernetes template cache loadbalance)

[[ -x $BIN/etcd ]] || (build_etcd)
for c in "${KUBE_CMDS[@]}"; do
  if [[ ! -x $BIN/$c ]]; then
    (build_kube)
    break
  fi
done
if [[ ! -x $BIN/coredns || $("$BIN/coredns" -version 2>/dev/null) != *"CoreDNS-$COREDNS_VERSION"* ]]; then
  rm -f "$BIN/coredns"
  (build_coredns)
fi
# Not a binary: the Gateway API module's config/crd/standard, copied out of the module cache.
GATEWAY_API_CRDS="$CACHE/gateway-api-v$GATEWAY_API_VERSION"
if [[ ! -f $GATEWAY_API_CRDS/.complete ]]; then
  say "fetching sigs.k8s.io/gateway-api v$GATEWAY_API_VERSION (its standard CRDs)"
  dir=$(cd "$(mktemp -d)" && go mod download -json "sigs.k8s.io/gateway-api@v$GATEWAY_API_VERSION" |
    sed -n 's/^[[:space:]]*"Dir": "\(.*\)",*$/\1/p')
  [[ -d $dir/config/crd/standard ]] || { say "no config/crd/standard in '$dir'"; exit 1; }
  rm -rf "$GATEWAY_API_CRDS" && mkdir -p "$GATEWAY_API_CRDS"
  cp "$dir"/config/crd/standard/*.yaml "$GATEWAY_API_CRDS/"
  chmod u+w "$GATEWAY_API_CRDS"/*.yaml
  touch "$GATEWAY_API_CRDS/.complete"
fi
if [[ ! -x $BIN/helm ]]; then
  say "building helm v$HELM_VERSION"
  GOBIN="$BIN" go install -ldflags "-s -w \
    -X helm.sh/helm/v3/internal/version.version=v$HELM_VERSION \
    -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$MINOR \
    -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$MINOR" \
    "helm.sh/helm/v3/cmd/helm@v$HELM_VERSION"
fi
if [[ ! -x $BIN/kwok ]]; then
  say "building kwok v$KWOK_VERSION"
  GOBIN="$BIN" go install "sigs.k8s.io/kwok/cmd/kwok@v$KWOK_VERSION"
fi
say "done: $BIN"
