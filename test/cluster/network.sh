# shellcheck shell=bash
# The host side of the local cluster's network, set up by up.sh BEFORE kube-proxy runs or anything
# is forwarded, and undone by down.sh. Sourced by lib.sh, never run. Every change to the host is
# written to $NET_STATE as it is made, so network_down undoes exactly that, in reverse, and nothing
# else of the host. See "Safety" in docs/local-cluster.md for why each piece is there.

GUARD_FWD=VIREO-FORWARD-GUARD
GUARD_OUT=VIREO-OUTPUT-GUARD

record() { printf '%s\n' "$*" >>"$NET_STATE"; }

sysctl_key_path() { printf '/proc/sys/%s\n' "${1//.//}"; }

# set_sysctl KEY VALUE: sets it, recording the old value when it changes.
set_sysctl() {
  local key=$1 want=$2 path old
  path=$(sysctl_key_path "$key")
  old=$(<"$path")
  if [[ $old != "$want" ]]; then
    record "sysctl $key $old"
    printf '%s\n' "$want" >"$path"
  fi
}

network_up() {
  mkdir -p "$D"
  # 1. The bridge, holding the pods' gateway address (the node agent reuses it).
  if ! ip link show dev "$BRIDGE" >/dev/null 2>&1; then
    ip link add "$BRIDGE" type bridge
    record "bridge $BRIDGE"
  fi
  if ! ip -o -4 addr show dev "$BRIDGE" | grep -q " $GATEWAY/"; then
    ip addr add "$GATEWAY/${POD_CIDR#*/}" dev "$BRIDGE"
  fi
  ip link set "$BRIDGE" up

  # 2. Service IPs are routed to the bridge, so a ClusterIP that nothing DNATs (kube-proxy not yet
  # synced, a Service without endpoints) stays on this machine instead of following the default
  # route out of eth0. Not `unreachable`/`blackhole`: a local connect() is routed before the nat
  # OUTPUT hook, so such a route would fail the connection before kube-proxy's DNAT could apply.
  if ! ip route show "$SERVICE_CIDR" | grep -q "dev $BRIDGE"; then
    ip route add "$SERVICE_CIDR" dev "$BRIDGE"
    record "route $SERVICE_CIDR $BRIDGE"
  fi

  # 3. Forwarding may only go bridge -> bridge (pod -> ClusterIP -> pod): anything from the bridge
  # to another interface, or from another interface into it, is dropped. The guards live in the
  # mangle table, which kube-proxy (iptables mode) never writes to: its jumps in filter FORWARD and
  # OUTPUT are re-prepended at every resync, so a guard there ends up behind KUBE-FORWARD, which
  # accepts established and marked traffic. mangle FORWARD is traversed before filter FORWARD.
  iptables -w -t mangle -N "$GUARD_FWD" 2>/dev/null || true
  iptables -w -t mangle -F "$GUARD_FWD"
  iptables -w -t mangle -A "$GUARD_FWD" -i "$BRIDGE" ! -o "$BRIDGE" -j DROP
  iptables -w -t mangle -A "$GUARD_FWD" ! -i "$BRIDGE" -o "$BRIDGE" -j DROP
  iptables -w -t mangle -C FORWARD -j "$GUARD_FWD" 2>/dev/null ||
    iptables -w -t mangle -I FORWARD 1 -j "$GUARD_FWD"
  record "mangle-chain FORWARD $GUARD_FWD"
  # The host's own connections to a Service: a packet kube-proxy DNATed may only go to the pods'
  # bridge or to loopback (every endpoint of this cluster is one of those), never out of eth0,
  # whatever an EndpointSlice says. In mangle POSTROUTING, after nat OUTPUT has rewritten the
  # destination and the packet has been routed again, so both --ctstate DNAT and -o are final.
  iptables -w -t mangle -N "$GUARD_OUT" 2>/dev/null || true
  iptables -w -t mangle -F "$GUARD_OUT"
  iptables -w -t mangle -A "$GUARD_OUT" -o "$BRIDGE" -j RETURN
  iptables -w -t mangle -A "$GUARD_OUT" -o lo -j RETURN
  iptables -w -t mangle -A "$GUARD_OUT" -m conntrack --ctstate DNAT -j DROP
  iptables -w -t mangle -C POSTROUTING -j "$GUARD_OUT" 2>/dev/null ||
    iptables -w -t mangle -I POSTROUTING 1 -j "$GUARD_OUT"
  record "mangle-chain POSTROUTING $GUARD_OUT"

  # 4. br_netfilter: a reply from pod B to pod A, whose request went to a ClusterIP, stays on the
  # bridge; without bridge-nf-call-iptables it skips conntrack, is never un-DNATed and A drops it.
  if [[ ! -e /proc/sys/net/bridge/bridge-nf-call-iptables ]]; then
    modprobe br_netfilter || die "br_netfilter is not loaded and modprobe failed: Service traffic between pods would not work"
  fi
  set_sysctl net.bridge.bridge-nf-call-iptables 1

  # 5. Only now, routing between pods through the host: IPv4 forwarding is decided by the flag of
  # the interface a packet comes in on, so the bridge's flag is enough; eth0's and the global
  # net.ipv4.ip_forward stay as they are (0 here).
  set_sysctl "net.ipv4.conf.$BRIDGE.forwarding" 1
}

# Undoes what network_up and kube-proxy recorded, last first. Safe to run when nothing is recorded.
network_down() {
  [[ -f $NET_STATE ]] || return 0
  local -a lines
  mapfile -t lines <"$NET_STATE"
  local i kind a b
  for ((i = ${#lines[@]} - 1; i >= 0; i--)); do
    read -r kind a b <<<"${lines[i]}"
    case $kind in
      kube-proxy)
        # kube-proxy leaves its KUBE-* chains behind when it exits; --cleanup removes them.
        timeout 30 "$BIN/kube-proxy" --cleanup >>"$LOGS/kube-proxy.log" 2>&1 ||
          warn "kube-proxy --cleanup failed (see $LOGS/kube-proxy.log)"
        # ...except KUBE-FIREWALL (empty here), which it shares with the kubelet and so leaves.
        local t c
        for t in iptables ip6tables; do
          for c in INPUT OUTPUT; do while "$t" -w -D "$c" -j KUBE-FIREWALL 2>/dev/null; do :; done; done
          "$t" -w -F KUBE-FIREWALL 2>/dev/null && "$t" -w -X KUBE-FIREWALL 2>/dev/null
        done
        ;;
      sysctl)
        [[ -e $(sysctl_key_path "$a") ]] && printf '%s\n' "$b" >"$(sysctl_key_path "$a")"
        ;;
      chain | mangle-chain)
        # "chain": filter-table guards of earlier versions of this script.
        local table=filter
        [[ $kind == mangle-chain ]] && table=mangle
        while iptables -w -t "$table" -D "$a" -j "$b" 2>/dev/null; do :; done
        iptables -w -t "$table" -F "$b" 2>/dev/null || true
        iptables -w -t "$table" -X "$b" 2>/dev/null || true
        ;;
      route)
        ip route del "$a" dev "$b" 2>/dev/null || true
        ;;
      bridge)
        ip link del "$a" 2>/dev/null || true
        ;;
      *) warn "unknown line in $NET_STATE: ${lines[i]}" ;;
    esac
  done
  rm -f "$NET_STATE"
}
