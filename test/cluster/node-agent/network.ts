// Pod networking on one host: a bridge holding the pod CIDR's gateway address, and per pod a
// network namespace joined to it by a veth pair, with a real address from the CIDR.
import { execFile } from "node:child_process";
import { promisify } from "node:util";

const exec = promisify(execFile);

export async function ip(...args: string[]): Promise<string> {
  const { stdout } = await exec("ip", args);
  return stdout;
}

/** Hands out addresses of a /16 in next-fit order, so a replacement pod gets a new address. */
export class IpAllocator {
  private readonly used = new Set<number>();
  private cursor: number;

  constructor(
    private readonly base: number,
    private readonly size: number,
    first = 2,
  ) {
    this.cursor = first;
  }

  static forCidr(cidr: string): IpAllocator {
    const [addr, bits] = cidr.split("/");
    const prefix = Number(bits);
    if (addr === undefined || !Number.isInteger(prefix) || prefix < 8 || prefix > 30) {
      throw new Error(`bad pod CIDR "${cidr}"`);
    }
    return new IpAllocator(toInt(addr), 2 ** (32 - prefix));
  }

  allocate(): string {
    for (let i = 0; i < this.size; i++) {
      const n = this.cursor;
      this.cursor = this.cursor + 1 >= this.size - 1 ? 2 : this.cursor + 1;
      if (!this.used.has(n)) {
        this.used.add(n);
        return toIp(this.base + n);
      }
    }
    throw new Error("pod CIDR exhausted");
  }

  release(address: string): void {
    this.used.delete(toInt(address) - this.base);
  }
}

export function toInt(address: string): number {
  const parts = address.split(".").map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) {
    throw new Error(`bad IPv4 address "${address}"`);
  }
  return parts.reduce((acc, p) => acc * 256 + p, 0);
}

export function toIp(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join(".");
}

export interface NetworkConfig {
  readonly bridge: string;
  readonly cidr: string;
  readonly gateway: string;
  /** Prefix of every namespace this agent creates, so leftovers can be found after a crash. */
  readonly nsPrefix: string;
}

export class PodNetwork {
  constructor(private readonly config: NetworkConfig) {}

  get prefixLength(): string {
    return this.config.cidr.split("/")[1] ?? "16";
  }

  /**
   * Creates the bridge unless it exists (up.sh creates it first, with the safety route and
   * forwarding guard); true if this call created it, so only then does the agent remove it.
   */
  async ensureBridge(): Promise<boolean> {
    const { bridge, gateway } = this.config;
    const links = await ip("-o", "link", "show");
    const created = !links.includes(` ${bridge}:`);
    if (created) await ip("link", "add", bridge, "type", "bridge");
    const addrs = await ip("-o", "-4", "addr", "show", "dev", bridge);
    if (!addrs.includes(` ${gateway}/`)) {
      await ip("addr", "add", `${gateway}/${this.prefixLength}`, "dev", bridge);
    }
    await ip("link", "set", bridge, "up");
    return created;
  }

  async removeBridge(): Promise<void> {
    await ip("link", "del", this.config.bridge).catch(() => undefined);
  }

  /** Creates namespace `ns` with `address` on eth0 and a default route through the bridge. */
  async create(ns: string, address: string): Promise<void> {
    const hostSide = `vh${ns.slice(this.config.nsPrefix.length, this.config.nsPrefix.length + 12)}`;
    await ip("netns", "add", ns);
    try {
      await ip("link", "add", hostSide, "type", "veth", "peer", "name", "eth0", "netns", ns);
      await ip("link", "set", hostSide, "master", this.config.bridge, "up");
      // Hairpin: a pod reaching itself through its Service's ClusterIP is DNATed back to its own
      // address, so the bridge must send the frame out of the port it came in on.
      await ip("link", "set", hostSide, "type", "bridge_slave", "hairpin", "on");
      // IPv4 only: capture (iptables) does not cover IPv6, so a pod has none to bypass it with.
      await disableIpv6(ns);
      await ip("-n", ns, "addr", "add", `${address}/${this.prefixLength}`, "dev", "eth0");
      await ip("-n", ns, "link", "set", "eth0", "up");
      await ip("-n", ns, "link", "set", "lo", "up");
      await ip("-n", ns, "route", "add", "default", "via", this.config.gateway);
    } catch (err) {
      await this.destroy(ns);
      throw err;
    }
  }

  /** Deletes the namespace; its veth pair goes with it. */
  async destroy(ns: string): Promise<void> {
    await killNamespaceProcesses(ns);
    await ip("netns", "del", ns).catch(() => undefined);
  }

  /** Namespaces left by an earlier run of the agent. */
  async leftovers(): Promise<string[]> {
    const out = await ip("netns", "list").catch(() => "");
    return out
      .split("\n")
      .map((l) => l.split(" ")[0] ?? "")
      .filter((n) => n.startsWith(this.config.nsPrefix));
  }
}

async function disableIpv6(ns: string): Promise<void> {
  await exec("ip", [
    "netns",
    "exec",
    ns,
    "sysctl",
    "-q",
    "-w",
    "net.ipv6.conf.all.disable_ipv6=1",
    "net.ipv6.conf.default.disable_ipv6=1",
    "net.ipv6.conf.lo.disable_ipv6=1",
    "net.ipv6.conf.eth0.disable_ipv6=1",
  ]);
}

async function killNamespaceProcesses(ns: string): Promise<void> {
  const out = await ip("netns", "pids", ns).catch(() => "");
  for (const pid of out
    .split("\n")
    .map(Number)
    .filter((p) => p > 0)) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
}
