#!/usr/bin/env bash
# Builds the xDS benchmark's Go programs (the go-control-plane peer and the simulated clients) with
# the Go module proxy into $HOME/.cache/vireo-bench/xds-<hash>, where <hash> covers the Go version
# and every Go source of this directory. Skips the build when those binaries exist. Prints the
# directory as the last line of standard output; progress goes to standard error.
set -euo pipefail
SRC=$(cd "$(dirname "$0")" && pwd)
CACHE=${VIREO_BENCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vireo-bench}
export GOTOOLCHAIN=local CGO_ENABLED=0
say() { printf '[bench build %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

cd "$SRC"
HASH=$( { go version; find go.mod go.sum internal gcp-peer clients -type f -name '*.go' -o -name 'go.*' \
  | LC_ALL=C sort | xargs sha256sum; } | sha256sum | cut -c1-16)
BIN="$CACHE/xds-$HASH"
if [[ -x $BIN/gcp-peer && -x $BIN/clients ]]; then
  say "up to date: $BIN"
  echo "$BIN"
  exit 0
fi
mkdir -p "$CACHE"
# One build at a time per cache: a second run waits, then finds the binaries and skips.
exec 8>"$CACHE/build-xds.lock"
flock 8
if [[ ! -x $BIN/gcp-peer || ! -x $BIN/clients ]]; then
  say "building gcp-peer and clients ($(go version | cut -d' ' -f3), go-control-plane $(sed -n 's#^\tgithub.com/envoyproxy/go-control-plane \(v[^ ]*\)$#\1#p' go.mod))"
  t0=$SECONDS
  tmp="$BIN.tmp.$$"
  trap 'rm -rf "$tmp"' EXIT
  go build -mod=readonly -trimpath -ldflags "-s -w" -o "$tmp/" ./gcp-peer ./clients
  rm -rf "$BIN"
  mv "$tmp" "$BIN"
  say "built $BIN in $((SECONDS - t0)) s"
  # Binaries of earlier sources are never used again.
  find "$CACHE" -maxdepth 1 -name 'xds-*' ! -name "${BIN##*/}" -type d -exec rm -rf {} +
fi
echo "$BIN"
