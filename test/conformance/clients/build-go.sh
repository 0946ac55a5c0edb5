#!/usr/bin/env bash
# Builds the grpc-go conformance client (test/conformance/clients/go) with the Go module proxy into
# $HOME/.cache/vireo-conformance/grpc-go-client-<hash>, where <hash> covers go.mod, go.sum and
# main.go (run-client.ts computes the same name). Skips the build when that binary exists.
# Prints the binary's path as the last line of standard output; progress goes to standard error.
set -euo pipefail
SRC=$(cd "$(dirname "$0")/go" && pwd)
CACHE=${VIREO_CONFORMANCE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vireo-conformance}
HASH=$(cat "$SRC/go.mod" "$SRC/go.sum" "$SRC/main.go" | sha256sum | cut -c1-16)
BIN="$CACHE/grpc-go-client-$HASH"
say() { printf '[build-go %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

if [[ -x $BIN ]]; then
  say "up to date: $BIN"
  echo "$BIN"
  exit 0
fi
mkdir -p "$CACHE"
# One build at a time per cache: a second run waits, then finds the binary and skips.
exec 8>"$CACHE/build-go.lock"
flock 8
if [[ ! -x $BIN ]]; then
  export GOTOOLCHAIN=local CGO_ENABLED=0
  say "building grpc-go client ($(go version | cut -d' ' -f3), $(sed -n 's#^\tgoogle.golang.org/grpc \(v[^ ]*\)$#grpc-go \1#p' "$SRC/go.mod"))"
  t0=$SECONDS
  tmp="$BIN.tmp.$$"
  trap 'rm -f "$tmp"' EXIT
  (cd "$SRC" && go build -mod=readonly -trimpath -ldflags "-s -w" -o "$tmp" .)
  mv "$tmp" "$BIN"
  say "built $BIN in $((SECONDS - t0)) s"
  # Binaries of earlier sources are never used again.
  find "$CACHE" -maxdepth 1 -name 'grpc-go-client-*' ! -name "${BIN##*/}" -type f -delete
fi
echo "$BIN"
