// `mesh/main.ts capture <flags>`: the init container's step. Reads the nat table, builds the
// rules (rules.ts) and applies them in one `iptables-restore --noflush`; prints what it applied;
// fails with iptables' own message. Every flag is also an environment variable.
import { spawn } from "node:child_process";
import { parseArgs } from "node:util";
import { VireoError } from "../../src/common/errors.js";
import { INBOUND_PORT, OUTBOUND_PORT, PROXY_UID, STATUS_PORT } from "../../src/inject/names.js";
import type { CaptureOptions } from "./rules.js";
import { captureRules, checkCidr, presentJumps } from "./rules.js";

function run(cmd: string, args: readonly string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      stdio: [input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout?.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr?.on("data", (d: Buffer) => (err += d.toString()));
    child.on("error", (e) => {
      reject(new VireoError("CaptureFailed", `${cmd}: ${e.message}`));
    });
    child.on("close", (code) => {
      if (code === 0) resolve(out);
      else
        reject(
          new VireoError(
            "CaptureFailed",
            `${cmd} ${args.join(" ")} exited ${String(code)}: ${err.trim()}`,
          ),
        );
    });
    if (input !== undefined) {
      // A failing command may close its stdin early; its exit status says what went wrong.
      child.stdin?.on("error", () => undefined);
      child.stdin?.end(input);
    }
  });
}

function ports(flag: string, v: string): number[] {
  return v
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "")
    .map((s) => {
      const n = Number(s);
      if (!Number.isInteger(n) || n < 1 || n > 65535)
        throw new VireoError("BadConfig", `--${flag}: "${s}" is not a port`);
      return n;
    });
}

function cidrs(flag: string, v: string): string[] {
  return v
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "")
    .map((s) => (s === "*" ? s : checkCidr(flag, s)));
}

export function parseCaptureFlags(args: readonly string[], env: NodeJS.ProcessEnv): CaptureOptions {
  const { values } = parseArgs({
    args: [...args],
    options: {
      "proxy-uid": { type: "string", default: env.VIREO_PROXY_UID ?? String(PROXY_UID) },
      "proxy-gid": { type: "string", default: env.VIREO_PROXY_GID ?? String(PROXY_UID) },
      "inbound-port": {
        type: "string",
        default: env.VIREO_INBOUND_CAPTURE_PORT ?? String(INBOUND_PORT),
      },
      "outbound-port": {
        type: "string",
        default: env.VIREO_OUTBOUND_PORT ?? String(OUTBOUND_PORT),
      },
      "exclude-inbound-ports": {
        type: "string",
        default: env.VIREO_EXCLUDE_INBOUND_PORTS ?? String(STATUS_PORT),
      },
      "exclude-outbound-ports": {
        type: "string",
        default: env.VIREO_EXCLUDE_OUTBOUND_PORTS ?? "",
      },
      "exclude-outbound-cidrs": {
        type: "string",
        default: env.VIREO_EXCLUDE_OUTBOUND_CIDRS ?? "",
      },
      "include-outbound-cidrs": {
        type: "string",
        default: env.VIREO_INCLUDE_OUTBOUND_CIDRS ?? "*",
      },
    },
  });
  const id = (flag: string, v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0)
      throw new VireoError("BadConfig", `--${flag}: "${v}" is not an id`);
    return n;
  };
  const one = (flag: string, v: string): number => {
    const [p] = ports(flag, v);
    if (p === undefined) throw new VireoError("BadConfig", `--${flag} is required`);
    return p;
  };
  return {
    proxyUid: id("proxy-uid", values["proxy-uid"]),
    proxyGid: id("proxy-gid", values["proxy-gid"]),
    inboundPort: one("inbound-port", values["inbound-port"]),
    outboundPort: one("outbound-port", values["outbound-port"]),
    excludeInboundPorts: ports("exclude-inbound-ports", values["exclude-inbound-ports"]),
    excludeOutboundPorts: ports("exclude-outbound-ports", values["exclude-outbound-ports"]),
    excludeOutboundCidrs: cidrs("exclude-outbound-cidrs", values["exclude-outbound-cidrs"]),
    includeOutboundCidrs: cidrs("include-outbound-cidrs", values["include-outbound-cidrs"]),
  };
}

/** Applies the rules in the current network namespace; resolves with the text applied. */
export async function applyCapture(options: CaptureOptions): Promise<string> {
  const saved = await run("iptables-save", ["-t", "nat"]);
  const rules = captureRules(options, presentJumps(saved));
  await run("iptables-restore", ["--noflush"], rules);
  return rules;
}

export async function captureMain(args: readonly string[]): Promise<void> {
  const rules = await applyCapture(parseCaptureFlags(args, process.env));
  process.stdout.write(`vireo capture: applied (iptables-restore --noflush, table nat):\n${rules}`);
}
