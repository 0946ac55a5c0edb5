// The capture step's rules: Istio's REDIRECT mode (research/transparent-capture.md §1.1) written
// as `iptables-restore --noflush` input for table nat. Pure: options in, text out. Idempotent:
// `:CHAIN - [0:0]` creates or flushes our chains, so a re-run rewrites them; the jumps from
// PREROUTING/OUTPUT are passed in as already present (read from iptables-save) so they are added
// once.
import { VireoError } from "../../src/common/errors.js";

export const CHAINS = {
  inbound: "VIREO_INBOUND",
  inRedirect: "VIREO_IN_REDIRECT",
  output: "VIREO_OUTPUT",
  redirect: "VIREO_REDIRECT",
} as const;

export interface CaptureOptions {
  readonly proxyUid: number;
  readonly proxyGid: number;
  /** Inbound capture listener (15006). */
  readonly inboundPort: number;
  /** Outbound capture listener (15001). */
  readonly outboundPort: number;
  /** Inbound destination ports never captured (the status port 15020 at least). */
  readonly excludeInboundPorts: readonly number[];
  readonly excludeOutboundPorts: readonly number[];
  readonly excludeOutboundCidrs: readonly string[];
  /** `["*"]` for everything, else only these destinations are captured. */
  readonly includeOutboundCidrs: readonly string[];
}

/** The jumps into our chains already in the nat table (a re-run must not add them twice). */
export interface PresentJumps {
  readonly prerouting: boolean;
  readonly output: boolean;
}

/** The jump rules as `iptables -t nat -S` prints them, to recognise them in iptables-save. */
export const JUMP_PREROUTING = `-A PREROUTING -p tcp -j ${CHAINS.inbound}`;
export const JUMP_OUTPUT = `-A OUTPUT -j ${CHAINS.output}`;

const CIDR = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?:\/(\d{1,2}))?$/;

export function checkCidr(flag: string, v: string): string {
  const m = CIDR.exec(v);
  const ok =
    m !== null &&
    m.slice(1, 5).every((o) => Number(o) <= 255) &&
    (m[5] === undefined || Number(m[5]) <= 32);
  if (!ok) throw new VireoError("BadConfig", `--${flag}: "${v}" is not an IPv4 CIDR`);
  return m[5] === undefined ? `${v}/32` : v;
}

export function captureRules(o: CaptureOptions, present: PresentJumps): string {
  const { inbound, inRedirect, output, redirect } = CHAINS;
  const uid = String(o.proxyUid);
  const gid = String(o.proxyGid);
  const lines = [
    "*nat",
    `:${inbound} - [0:0]`,
    `:${inRedirect} - [0:0]`,
    `:${output} - [0:0]`,
    `:${redirect} - [0:0]`,
    // Inbound: every TCP destination port but the excluded ones goes to the inbound listener.
    ...o.excludeInboundPorts.map((p) => `-A ${inbound} -p tcp --dport ${String(p)} -j RETURN`),
    `-A ${inbound} -p tcp -j ${inRedirect}`,
    `-A ${inRedirect} -p tcp -j REDIRECT --to-ports ${String(o.inboundPort)}`,
    // Outbound. Port exclusions first: they must win over the call-back-to-self rule (Istio).
    ...o.excludeOutboundPorts.map((p) => `-A ${output} -p tcp --dport ${String(p)} -j RETURN`),
    // The proxy calling its own pod IP (an endpoint of a Service that is this pod) goes through
    // lo: turn it into inbound so the app gets it through the inbound listener.
    ...(["uid", "gid"] as const).flatMap((kind) => {
      const owner = kind === "uid" ? `--uid-owner ${uid}` : `--gid-owner ${gid}`;
      return [
        `-A ${output} -o lo ! -d 127.0.0.1/32 -p tcp -m owner ${owner} -j ${inRedirect}`,
        // The app talking over lo (localhost, its own pod IP) is left alone.
        `-A ${output} -o lo -m owner ! ${owner} -j RETURN`,
        // Everything else the proxy sends, so its upstream connections never loop.
        `-A ${output} -m owner ${owner} -j RETURN`,
      ];
    }),
    `-A ${output} -d 127.0.0.1/32 -j RETURN`,
    ...o.excludeOutboundCidrs.map((c) => `-A ${output} -d ${c} -j RETURN`),
    ...(o.includeOutboundCidrs.includes("*")
      ? [`-A ${output} -j ${redirect}`]
      : o.includeOutboundCidrs.map((c) => `-A ${output} -d ${c} -j ${redirect}`)),
    `-A ${redirect} -p tcp -j REDIRECT --to-ports ${String(o.outboundPort)}`,
    ...(present.prerouting ? [] : [JUMP_PREROUTING]),
    ...(present.output ? [] : [JUMP_OUTPUT]),
    "COMMIT",
  ];
  return `${lines.join("\n")}\n`;
}

/** Which jumps an `iptables-save -t nat` output already has. */
export function presentJumps(iptablesSave: string): PresentJumps {
  const lines = new Set(iptablesSave.split("\n").map((l) => l.trim()));
  return { prerouting: lines.has(JUMP_PREROUTING), output: lines.has(JUMP_OUTPUT) };
}
