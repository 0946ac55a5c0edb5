// The capture step's rule builder, as a table of cases: what each option puts into the nat table
// and where (order matters: port exclusions before the call-back-to-self rule, the proxy's own
// traffic skipped by uid AND gid), and that a re-run adds the jumps only once.
import assert from "node:assert/strict";
import type { CaptureOptions } from "../../../mesh/capture/rules.js";
import { captureRules, presentJumps } from "../../../mesh/capture/rules.js";
import { parseCaptureFlags } from "../../../mesh/capture/run.js";

const defaults: CaptureOptions = parseCaptureFlags([], {});
const none = { prerouting: false, output: false };

function rules(o: Partial<CaptureOptions> = {}, present = none): string[] {
  return captureRules({ ...defaults, ...o }, present)
    .trimEnd()
    .split("\n");
}

describe("capture rules (iptables-restore input, table nat)", () => {
  it("defaults to the contract's flags", () => {
    assert.deepEqual(defaults, {
      proxyUid: 1337,
      proxyGid: 1337,
      inboundPort: 15006,
      outboundPort: 15001,
      excludeInboundPorts: [15020],
      excludeOutboundPorts: [],
      excludeOutboundCidrs: [],
      includeOutboundCidrs: ["*"],
    });
  });

  it("declares (creates or flushes) its four chains and commits once", () => {
    const r = rules();
    assert.equal(r[0], "*nat");
    assert.deepEqual(r.slice(1, 5), [
      ":VIREO_INBOUND - [0:0]",
      ":VIREO_IN_REDIRECT - [0:0]",
      ":VIREO_OUTPUT - [0:0]",
      ":VIREO_REDIRECT - [0:0]",
    ]);
    assert.equal(r.at(-1), "COMMIT");
    assert.equal(r.filter((l) => l === "COMMIT").length, 1);
  });

  const table: {
    name: string;
    options: Partial<CaptureOptions>;
    has: string[];
    order?: string[];
  }[] = [
    {
      name: "inbound: excluded ports return before the redirect to 15006",
      options: { excludeInboundPorts: [15020, 8081] },
      has: [],
      order: [
        "-A VIREO_INBOUND -p tcp --dport 15020 -j RETURN",
        "-A VIREO_INBOUND -p tcp --dport 8081 -j RETURN",
        "-A VIREO_INBOUND -p tcp -j VIREO_IN_REDIRECT",
        "-A VIREO_IN_REDIRECT -p tcp -j REDIRECT --to-ports 15006",
      ],
    },
    {
      name: "outbound: excluded ports first, then the loopback rules by uid then by gid",
      options: { excludeOutboundPorts: [5432], proxyUid: 1000, proxyGid: 2000 },
      has: [],
      order: [
        "-A VIREO_OUTPUT -p tcp --dport 5432 -j RETURN",
        "-A VIREO_OUTPUT -o lo ! -d 127.0.0.1/32 -p tcp -m owner --uid-owner 1000 -j VIREO_IN_REDIRECT",
        "-A VIREO_OUTPUT -o lo -m owner ! --uid-owner 1000 -j RETURN",
        "-A VIREO_OUTPUT -m owner --uid-owner 1000 -j RETURN",
        "-A VIREO_OUTPUT -o lo ! -d 127.0.0.1/32 -p tcp -m owner --gid-owner 2000 -j VIREO_IN_REDIRECT",
        "-A VIREO_OUTPUT -o lo -m owner ! --gid-owner 2000 -j RETURN",
        "-A VIREO_OUTPUT -m owner --gid-owner 2000 -j RETURN",
        "-A VIREO_OUTPUT -d 127.0.0.1/32 -j RETURN",
        "-A VIREO_OUTPUT -j VIREO_REDIRECT",
        "-A VIREO_REDIRECT -p tcp -j REDIRECT --to-ports 15001",
      ],
    },
    {
      name: "excluded CIDRs return before the catch-all redirect",
      options: { excludeOutboundCidrs: ["10.244.0.1/32", "192.168.0.0/16"] },
      has: [],
      order: [
        "-A VIREO_OUTPUT -d 127.0.0.1/32 -j RETURN",
        "-A VIREO_OUTPUT -d 10.244.0.1/32 -j RETURN",
        "-A VIREO_OUTPUT -d 192.168.0.0/16 -j RETURN",
        "-A VIREO_OUTPUT -j VIREO_REDIRECT",
      ],
    },
    {
      name: "included CIDRs replace the catch-all",
      options: { includeOutboundCidrs: ["10.96.0.0/16"] },
      has: ["-A VIREO_OUTPUT -d 10.96.0.0/16 -j VIREO_REDIRECT"],
    },
    {
      name: "other capture ports",
      options: { inboundPort: 16006, outboundPort: 16001 },
      has: [
        "-A VIREO_IN_REDIRECT -p tcp -j REDIRECT --to-ports 16006",
        "-A VIREO_REDIRECT -p tcp -j REDIRECT --to-ports 16001",
      ],
    },
  ];
  for (const c of table) {
    it(c.name, () => {
      const r = rules(c.options);
      for (const l of c.has) assert.ok(r.includes(l), `missing: ${l}\n${r.join("\n")}`);
      const at = (c.order ?? []).map((l) => r.indexOf(l));
      assert.ok(!at.includes(-1), `missing one of ${JSON.stringify(c.order)}\n${r.join("\n")}`);
      assert.deepEqual(
        at,
        [...at].sort((a, b) => a - b),
        "out of order",
      );
    });
  }

  it("without included CIDRs nothing is redirected outbound", () => {
    const r = rules({ includeOutboundCidrs: [] });
    assert.equal(r.filter((l) => l.includes("-j VIREO_REDIRECT")).length, 0);
  });

  it("adds the jumps from PREROUTING and OUTPUT only when absent", () => {
    const jumps = (r: string[]): string[] => r.filter((l) => /^-A (PREROUTING|OUTPUT) /.test(l));
    assert.deepEqual(jumps(rules()), [
      "-A PREROUTING -p tcp -j VIREO_INBOUND",
      "-A OUTPUT -j VIREO_OUTPUT",
    ]);
    assert.deepEqual(jumps(rules({}, { prerouting: true, output: true })), []);
    assert.deepEqual(jumps(rules({}, { prerouting: false, output: true })), [
      "-A PREROUTING -p tcp -j VIREO_INBOUND",
    ]);
  });

  it("recognises the jumps in iptables-save output", () => {
    const saved = [
      "*nat",
      ":PREROUTING ACCEPT [0:0]",
      "-A PREROUTING -p tcp -j VIREO_INBOUND",
      "-A OUTPUT -j KUBE-SERVICES",
      "COMMIT",
    ].join("\n");
    assert.deepEqual(presentJumps(saved), { prerouting: true, output: false });
  });

  it("refuses what is not a port or a CIDR, naming the flag", () => {
    assert.throws(
      () => parseCaptureFlags(["--exclude-outbound-ports", "70000"], {}),
      /exclude-outbound-ports/,
    );
    assert.throws(
      () => parseCaptureFlags(["--exclude-outbound-cidrs", "10.0.0.0/33"], {}),
      /exclude-outbound-cidrs/,
    );
    assert.deepEqual(
      parseCaptureFlags([], { VIREO_EXCLUDE_OUTBOUND_CIDRS: "10.244.0.1" }).excludeOutboundCidrs,
      ["10.244.0.1/32"],
    );
  });
});
