#!/usr/bin/env bash
# Starts the local cluster on 127.0.0.1: etcd (data on tmpfs), kube-apiserver,
# kube-controller-manager, kube-scheduler, Prometheus, the pods' network with its safety rules,
# kube-proxy, CoreDNS and the node agent, with state in
# ${VIREO_CLUSTER_DIR:-<repo>/.cluster}. Idempotent: a healthy cluster of this checkout is reused,
# a partial one is stopped (by its saved PIDs) and started afresh. See docs/local-cluster.md.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "$0")/lib.sh"

T0=$(date +%s%N)
elapsed() { awk -v a="$T0" -v b="$(date +%s%N)" 'BEGIN { printf "%.1f", (b - a) / 1e9 }'; }

apiserver_ready() { kube get --raw /readyz >/dev/null 2>&1; }
prometheus_ready() { curl -sf -m 2 "http://127.0.0.1:$PROMETHEUS_PORT/-/ready" >/dev/null; }
# VIREO_NO_NODE_AGENT=1 starts the control plane and Prometheus only (e.g. to run the agent by hand).
agent_expected() { [[ ${VIREO_NO_NODE_AGENT:-0} != 1 ]]; }

healthy() {
  [[ -f $D/ports && $(<"$D/ports") == "$PORTS_SPEC" ]] || return 1
  local c
  for c in etcd prometheus kube-apiserver kube-controller-manager kube-scheduler kube-proxy coredns; do
    [[ -n $(component_pid "$c") ]] || return 1
  done
  if agent_expected; then [[ -n $(component_pid node-agent) ]] || return 1; fi
  [[ -f $NET_STATE ]] && apiserver_ready && prometheus_ready && coredns_ready
}
coredns_ready() { curl -sf -m 2 "http://127.0.0.1:$COREDNS_READY_PORT/ready" >/dev/null; }
# kube-proxy's /livez answers 200 once it has written its rules (and while it keeps them fresh);
# /healthz also wants the Node to be Ready, which comes later, with the node agent.
kube_proxy_healthy() { curl -sf -m 2 "http://127.0.0.1:$KUBE_PROXY_HEALTHZ_PORT/livez" >/dev/null; }

print_where() {
  cat <<EOF
  kubeconfig:  $KUBECONFIG_FILE   (context vireo-local)
               export KUBECONFIG=$KUBECONFIG_FILE
  apiserver:   https://127.0.0.1:$APISERVER_PORT   (pods: the kubernetes Service, 10.96.0.1:443)
  services:    $SERVICE_CIDR (kube-proxy, iptables), DNS $DNS_SERVICE_IP (CoreDNS on $GATEWAY:53)
  prometheus:  http://127.0.0.1:$PROMETHEUS_PORT   (pod targets: $PROM_DIR/targets/*.json)
  logs:        $LOGS/   (make cluster-logs, make cluster-status, make cluster-down)
EOF
}

# wait_for SECONDS COMPONENT WHAT CMD...: polls CMD; fails early if COMPONENT's process exits.
wait_for() {
  local timeout=$1 comp=$2 what=$3
  shift 3
  local deadline=$((SECONDS + timeout))
  while ! "$@" >/dev/null 2>&1; do
    if [[ -z $(component_pid "$comp") ]]; then
      fail "$comp exited while waiting for $what" "$comp"
    fi
    if ((SECONDS >= deadline)); then
      fail "timed out after ${timeout}s waiting for $what" "$comp"
    fi
    sleep 0.2
  done
  say "$what ($(elapsed)s)"
}

fail() {
  local msg=$1 comp=$2
  printf '[cluster %s] ERROR: %s; last 40 lines of %s:\n' "$(date +%H:%M:%S)" "$msg" "$LOGS/$comp.log" >&2
  tail -n 40 "$LOGS/$comp.log" >&2 || true
  printf '[cluster] the processes started so far are left running for inspection; make cluster-down stops them\n' >&2
  exit 1
}

take_lock

if healthy; then
  say "reusing the running cluster in $D ($(elapsed)s)"
  print_where
  exit 0
fi

# --- anything left over from an earlier run is stopped, by its saved PIDs only ---
mkdir -p "$PIDS" "$LOGS" "$PROM_DIR"
for c in "${COMPONENTS[@]}"; do
  if [[ -f $PIDS/$c.pid ]]; then
    say "a previous cluster in $D is not (fully) running: stopping what is left"
    stop_all
    break
  fi
done
network_down # what an interrupted earlier start added, if anything

# --- binaries and free ports ---
for b in etcd kube-apiserver kube-controller-manager kube-scheduler kube-proxy coredns; do
  [[ -x $BIN/$b ]] || die "$BIN/$b is missing: run 'make install-tools' (test/cluster/build.sh) first"
done
[[ -f $GATEWAY_API_CRDS/.complete ]] ||
  die "$GATEWAY_API_CRDS is missing: run 'make install-tools' (test/cluster/build.sh) first"
if [[ ! -x /usr/bin/prometheus ]]; then
  say "prometheus is not installed: running scripts/install-debs.sh"
  "$ROOT/scripts/install-debs.sh"
fi
busy=()
for p in $PORTS_SPEC; do
  if [[ -n $(ss -Hltn "sport = :${p#*=}") ]]; then busy+=("$p"); fi
done
if ((${#busy[@]})); then
  for p in "${busy[@]}"; do ss -Hltnp "sport = :${p#*=}" >&2 || true; done
  die "port(s) in use: ${busy[*]} (another cluster, perhaps from another checkout? override with VIREO_*_PORT)"
fi

# --- logs of the previous run are kept in logs/previous/ ---
rm -rf "$LOGS/previous"
mkdir -p "$LOGS/previous"
find "$LOGS" -mindepth 1 -maxdepth 1 ! -name previous -exec mv -t "$LOGS/previous/" {} +

# --- PKI (once; regenerated if the wanted SANs change) ---
SANS="IP:127.0.0.1,IP:10.244.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default"
SANS+=",DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
PKI_SPEC="v2 front-proxy $SANS"
if [[ ! -f $PKI/spec || $(<"$PKI/spec") != "$PKI_SPEC" ]]; then
  say "creating PKI in $PKI"
  rm -rf "$PKI"
  mkdir -p "$PKI"
  (
    cd "$PKI"
    umask 077
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=vireo-local-ca" \
      -addext "basicConstraints=critical,CA:TRUE" \
      -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" \
      -keyout ca.key -out ca.crt 2>/dev/null
    printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n' \
      "$SANS" >server.ext
    printf 'extendedKeyUsage=clientAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n' >client.ext
    openssl req -newkey rsa:2048 -nodes -subj "/CN=kube-apiserver" -keyout apiserver.key -out apiserver.csr 2>/dev/null
    openssl x509 -req -in apiserver.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 \
      -extfile server.ext -out apiserver.crt 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj "/O=system:masters/CN=vireo-admin" -keyout admin.key -out admin.csr 2>/dev/null
    openssl x509 -req -in admin.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 \
      -extfile client.ext -out admin.crt 2>/dev/null
    # Front proxy (request-header authn): lets aggregated APIs work and keeps KCM/scheduler from
    # logging "missing content for CA bundle ... requestheader-client-ca-file" all the time.
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=vireo-front-proxy-ca" \
      -addext "basicConstraints=critical,CA:TRUE" \
      -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" \
      -keyout front-proxy-ca.key -out front-proxy-ca.crt 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj "/CN=front-proxy-client" \
      -keyout front-proxy-client.key -out front-proxy-client.csr 2>/dev/null
    openssl x509 -req -in front-proxy-client.csr -CA front-proxy-ca.crt -CAkey front-proxy-ca.key \
      -CAcreateserial -days 3650 -extfile client.ext -out front-proxy-client.crt 2>/dev/null
    openssl genrsa -out sa.key 2048 2>/dev/null
    openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
    rm -f ./*.csr
    openssl verify -CAfile ca.crt apiserver.crt admin.crt >/dev/null
    openssl verify -CAfile front-proxy-ca.crt front-proxy-client.crt >/dev/null
  )
  printf '%s\n' "$PKI_SPEC" >"$PKI/spec"
fi

# --- the one kubeconfig (admin, certs embedded); everything uses it, the node agent too ---
b64() { base64 -w0 <"$1"; }
(
  umask 077
  cat >"$KUBECONFIG_FILE.tmp" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: vireo-local
  cluster:
    server: https://127.0.0.1:$APISERVER_PORT
    certificate-authority-data: $(b64 "$PKI/ca.crt")
users:
- name: vireo-admin
  user:
    client-certificate-data: $(b64 "$PKI/admin.crt")
    client-key-data: $(b64 "$PKI/admin.key")
contexts:
- name: vireo-local
  context:
    cluster: vireo-local
    user: vireo-admin
current-context: vireo-local
EOF
  mv "$KUBECONFIG_FILE.tmp" "$KUBECONFIG_FILE"
)
printf '%s\n' "$PORTS_SPEC" >"$D/ports"

# --- etcd, data on tmpfs ---
EDATA=$(mktemp -d /dev/shm/vireo-etcd.XXXXXX)
echo "$EDATA" >"$D/etcd-data-dir"
start_component etcd "$BIN/etcd" --name vireo --data-dir "$EDATA" \
  --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
  --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
  --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
  --initial-cluster "vireo=http://127.0.0.1:$ETCD_PEER_PORT" \
  --unsafe-no-fsync=true

# --- Prometheus, started now so its startup overlaps the control plane's ---
rm -rf "$PROM_DIR/data" "$PROM_DIR/targets"
mkdir -p "$PROM_DIR/data" "$PROM_DIR/targets"
cat >"$PROM_DIR/prometheus.yml" <<EOF
# Generated by test/cluster/up.sh; rewritten at every start.
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: prometheus
    static_configs:
      - targets: ["127.0.0.1:$PROMETHEUS_PORT"]
  # The node agent writes one file_sd JSON file per pod into targets/.
  - job_name: pods
    file_sd_configs:
      - files: ["$PROM_DIR/targets/*.json"]
        refresh_interval: 1s
EOF
start_component prometheus /usr/bin/prometheus --config.file="$PROM_DIR/prometheus.yml" \
  --web.listen-address="127.0.0.1:$PROMETHEUS_PORT" --storage.tsdb.path="$PROM_DIR/data" \
  --storage.tsdb.retention.time=2h --web.enable-lifecycle

wait_for 30 etcd "etcd healthy" curl -sf -m 2 "http://127.0.0.1:$ETCD_PORT/health"

# --- kube-apiserver ---
start_component kube-apiserver "$BIN/kube-apiserver" \
  --etcd-servers="http://127.0.0.1:$ETCD_PORT" \
  --bind-address=127.0.0.1 --secure-port="$APISERVER_PORT" \
  --advertise-address=127.0.0.1 --endpoint-reconciler-type=none \
  --tls-cert-file="$PKI/apiserver.crt" --tls-private-key-file="$PKI/apiserver.key" \
  --client-ca-file="$PKI/ca.crt" \
  --requestheader-client-ca-file="$PKI/front-proxy-ca.crt" --requestheader-allowed-names=front-proxy-client \
  --requestheader-username-headers=X-Remote-User --requestheader-group-headers=X-Remote-Group \
  --requestheader-extra-headers-prefix=X-Remote-Extra- \
  --proxy-client-cert-file="$PKI/front-proxy-client.crt" --proxy-client-key-file="$PKI/front-proxy-client.key" \
  --service-account-issuer=https://kubernetes.default.svc.cluster.local \
  --api-audiences=https://kubernetes.default.svc.cluster.local \
  --service-account-key-file="$PKI/sa.pub" --service-account-signing-key-file="$PKI/sa.key" \
  --service-cluster-ip-range=10.96.0.0/16 \
  --authorization-mode=Node,RBAC --allow-privileged=true \
  --enable-aggregator-routing=true
wait_for 90 kube-apiserver "kube-apiserver ready" apiserver_ready

# --- kube-controller-manager and kube-scheduler, serving on loopback only ---
# No node IPAM (--allocate-node-cidrs=false): the node agent sets spec.podCIDR on its Node itself.
start_component kube-controller-manager "$BIN/kube-controller-manager" \
  --kubeconfig="$KUBECONFIG_FILE" \
  --authentication-kubeconfig="$KUBECONFIG_FILE" --authorization-kubeconfig="$KUBECONFIG_FILE" \
  --bind-address=127.0.0.1 --secure-port="$KCM_PORT" --leader-elect=false \
  --service-account-private-key-file="$PKI/sa.key" --root-ca-file="$PKI/ca.crt" \
  --cluster-signing-cert-file="$PKI/ca.crt" --cluster-signing-key-file="$PKI/ca.key" \
  --use-service-account-credentials=true --allocate-node-cidrs=false \
  --kube-api-qps=100 --kube-api-burst=200
start_component kube-scheduler "$BIN/kube-scheduler" \
  --kubeconfig="$KUBECONFIG_FILE" \
  --authentication-kubeconfig="$KUBECONFIG_FILE" --authorization-kubeconfig="$KUBECONFIG_FILE" \
  --bind-address=127.0.0.1 --secure-port="$SCHEDULER_PORT" --leader-elect=false \
  --kube-api-qps=100 --kube-api-burst=200

wait_for 60 kube-controller-manager "default ServiceAccount created" \
  kube -n default get serviceaccount default
wait_for 30 kube-scheduler "kube-scheduler healthy" \
  curl -sfk -m 2 "https://127.0.0.1:$SCHEDULER_PORT/healthz"

# --- the Gateway API's standard CRDs, as a platform team installs them (docs/local-cluster.md) ---
kube apply --server-side --force-conflicts -f "$GATEWAY_API_CRDS" >/dev/null
wait_for 60 kube-apiserver "Gateway API v$GATEWAY_API_VERSION CRDs established" \
  kube wait --for=condition=Established --timeout=5s crd --all
wait_for 30 prometheus "prometheus ready" prometheus_ready

# --- the pods' network and its safety rules, before anything forwards or DNATs ---
network_up
say "network: $SERVICE_CIDR routed to $BRIDGE, forwarding guard in FORWARD/OUTPUT, $BRIDGE forwarding on ($(elapsed)s)"

# --- Services: kube-dns and the endpoints of the two Services nothing else fills ---
# The apiserver runs with --endpoint-reconciler-type=none and listens on loopback, so the
# `kubernetes` Service (10.96.0.1:443) gets its endpoint by hand: the node agent's relay on the
# bridge gateway. CoreDNS runs on the host, bound to the gateway. Neither Service has a selector,
# so the EndpointSlice controller leaves these slices alone.
kube apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Service
metadata:
  name: kube-dns
  namespace: kube-system
  labels: {k8s-app: kube-dns, kubernetes.io/name: CoreDNS}
spec:
  clusterIP: $DNS_SERVICE_IP
  ports:
    - {name: dns, port: 53, protocol: UDP}
    - {name: dns-tcp, port: 53, protocol: TCP}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: kube-dns-host
  namespace: kube-system
  labels: {kubernetes.io/service-name: kube-dns, endpointslice.kubernetes.io/managed-by: local-cluster.vireo.dev}
addressType: IPv4
endpoints:
  - addresses: [$GATEWAY]
    conditions: {ready: true}
ports:
  - {name: dns, port: 53, protocol: UDP}
  - {name: dns-tcp, port: 53, protocol: TCP}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: kubernetes
  namespace: default
  labels: {kubernetes.io/service-name: kubernetes, endpointslice.kubernetes.io/managed-by: local-cluster.vireo.dev}
addressType: IPv4
endpoints:
  - addresses: [$GATEWAY]
    conditions: {ready: true}
ports:
  - {name: https, port: 443, protocol: TCP}
EOF

# --- kube-proxy (iptables mode) on the host ---
# It looks its Node up at start and waits 30 s for it: the Node is registered here (with the pod
# CIDR the node agent would give it; the agent then posts its status).
kube apply -f - >/dev/null <<EOF
apiVersion: v1
kind: Node
metadata:
  name: $NODE_NAME
  labels: {kubernetes.io/hostname: $NODE_NAME, kubernetes.io/os: linux, kubernetes.io/arch: amd64, node.vireo.dev/agent: "true"}
spec:
  podCIDR: $POD_CIDR
  podCIDRs: [$POD_CIDR]
EOF
kube patch node "$NODE_NAME" --subresource=status --type=merge >/dev/null \
  -p "{\"status\":{\"addresses\":[{\"type\":\"InternalIP\",\"address\":\"$GATEWAY\"},{\"type\":\"Hostname\",\"address\":\"$NODE_NAME\"}]}}"
# Recorded first, so that down.sh runs `kube-proxy --cleanup` even if it dies at start.
record kube-proxy
start_component kube-proxy "$BIN/kube-proxy" --kubeconfig="$KUBECONFIG_FILE" \
  --hostname-override="$NODE_NAME" --bind-address="$GATEWAY" --proxy-mode=iptables \
  --cluster-cidr="$POD_CIDR" --detect-local-mode=ClusterCIDR \
  --nodeport-addresses="$GATEWAY/32" --iptables-localhost-nodeports=false \
  --conntrack-max-per-core=0 --conntrack-tcp-timeout-established=0s --conntrack-tcp-timeout-close-wait=0s \
  --healthz-bind-address="127.0.0.1:$KUBE_PROXY_HEALTHZ_PORT" \
  --metrics-bind-address="127.0.0.1:$KUBE_PROXY_METRICS_PORT"

# --- CoreDNS on the host, on the gateway address only ---
# Cluster names come from the API; any other name is answered NXDOMAIN at once (there is no
# upstream here, and forwarding to the host's resolver would send pods' queries off the machine).
mkdir -p "$D/coredns"
cat >"$D/coredns/Corefile" <<EOF
# Generated by test/cluster/up.sh; rewritten at every start.
cluster.local:53 in-addr.arpa:53 ip6.arpa:53 {
    bind $GATEWAY
    errors
    health 127.0.0.1:$COREDNS_HEALTH_PORT
    ready 127.0.0.1:$COREDNS_READY_PORT
    kubernetes cluster.local in-addr.arpa ip6.arpa {
        kubeconfig $KUBECONFIG_FILE vireo-local
        pods insecure
        ttl 5
    }
    loadbalance
}
.:53 {
    bind $GATEWAY
    errors
    template ANY ANY {
        rcode NXDOMAIN
    }
}
EOF
start_component coredns "$BIN/coredns" -conf "$D/coredns/Corefile"
wait_for 60 kube-proxy "kube-proxy synced" kube_proxy_healthy
wait_for 60 coredns "coredns ready" coredns_ready

# --- node agent, last ---
node_ready() {
  [[ $(kube get node "$NODE_NAME" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null) == True ]]
}
if agent_expected; then
  # cwd is the repo so that `--import tsx` resolves from its node_modules.
  (cd "$ROOT" && start_component node-agent node --import tsx "$AGENT_MAIN" \
    --kubeconfig "$KUBECONFIG_FILE" --state-dir "$D" --node-name "$NODE_NAME" \
    --apiserver-port "$APISERVER_PORT" --prometheus-port "$PROMETHEUS_PORT")
  wait_for 60 node-agent "node $NODE_NAME Ready" node_ready
else
  say "VIREO_NO_NODE_AGENT=1: not starting the node agent, so pods stay Pending"
fi

say "cluster up in $(elapsed)s"
print_where
