// The names, ports and paths of the injection contract (docs/injection.md), shared by the
// injector, the webhook, the CLI and the proxy's side of the contract.

export const INJECT_LABEL = "vireo.dev/inject";
export const INJECT_ANNOTATION = "vireo.dev/inject";
export const STATUS_ANNOTATION = "sidecar.vireo.dev/status";
export const EXCLUDE_INBOUND_PORTS = "traffic.vireo.dev/excludeInboundPorts";
export const EXCLUDE_OUTBOUND_PORTS = "traffic.vireo.dev/excludeOutboundPorts";
export const EXCLUDE_OUTBOUND_IP_RANGES = "traffic.vireo.dev/excludeOutboundIPRanges";

export const INIT_CONTAINER = "vireo-init";
export const PROXY_CONTAINER = "vireo-proxy";
export const CA_VOLUME = "vireo-ca";
export const TOKEN_VOLUME = "vireo-token";
export const CA_MOUNT = "/var/run/secrets/vireo/ca";
export const TOKEN_MOUNT = "/var/run/secrets/vireo/token";
export const ROOT_CERT_CONFIGMAP = "vireo-ca-root-cert";

export const PROXY_UID = 1337;
export const OUTBOUND_PORT = 15001;
export const INBOUND_PORT = 15006;
export const STATUS_PORT = 15020;
export const TOKEN_AUDIENCE = "vireo";
export const TOKEN_TTL_SECONDS = 3600;
