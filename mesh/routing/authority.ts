// Host names as a proxy receives them: ports split off, and bare Service names (`reviews`,
// `reviews:9080`) expanded with the proxy's namespace, since route tables hold only names that
// mean the same from every namespace.

/** `host` without `:port`; IPv6 literals keep their brackets. */
export function stripPort(authority: string): string {
  if (authority.startsWith("[")) {
    const end = authority.indexOf("]");
    return end === -1 ? authority : authority.slice(0, end + 1);
  }
  const colon = authority.lastIndexOf(":");
  if (colon === -1) return authority;
  const port = authority.slice(colon + 1);
  return /^\d*$/.test(port) ? authority.slice(0, colon) : authority;
}

function isIpv4(host: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(host);
}

/**
 * `reviews:9080` → `reviews.<ns>.svc.<domain>:9080`. Names with a dot, IP literals and
 * `localhost` are returned as they are. The result is lower case, as route domains are.
 */
export function expandServiceName(authority: string, namespace: string, domain: string): string {
  const lower = authority.toLowerCase();
  const host = stripPort(lower);
  if (host === "" || host.includes(".") || host.startsWith("[") || host === "localhost") {
    return lower;
  }
  if (isIpv4(host)) return lower;
  return `${host}.${namespace}.svc.${domain}${lower.slice(host.length)}`;
}
