#!/bin/sh
# Starts one container process inside its pod: applies the pod's bind mounts in a private mount
# namespace (the caller runs us under `unshare --mount`), then becomes the container's command.
# usage: launch.sh MOUNTS_FILE WORKDIR -- ARGV...   (MOUNTS_FILE lines: source<TAB>target<TAB>ro|rw)
set -eu
mounts=$1
workdir=$2
shift 3
if [ -s "$mounts" ]; then
  while IFS='	' read -r src dst mode; do
    if [ -f "$src" ]; then
      mkdir -p "$(dirname "$dst")"
      [ -e "$dst" ] || : >"$dst"
    else
      mkdir -p "$dst"
    fi
    mount --bind "$src" "$dst"
    if [ "$mode" = ro ]; then mount -o remount,bind,ro "$dst"; fi
  done <"$mounts"
fi
cd "$workdir"
exec "$@"
