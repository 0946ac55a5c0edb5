// The malformed-input and request-smuggling corpus through vireo and through nginx, in front of
// the same recording upstream: vireo refuses at least what nginx refuses, never forwards a request
// the client did not send or a body boundary other than its own, and keeps serving.
import assert from "node:assert/strict";
import type { RequestRecord } from "../../../mesh/filters/request-record.js";
import type { NginxPeer } from "./nginx-peer.js";
import { startNginxPeer } from "./nginx-peer.js";
import type { TestProxy } from "./harness.js";
import { send, startProxy } from "./harness.js";
import { buildSnapshot } from "./snapshot-builder.js";
import type {
  CorpusCase,
  ExchangeResult,
  RecordingUpstream,
  SeenRequest,
} from "./smuggling-corpus.js";
import { CORPUS, exchange, startRecordingUpstream } from "./smuggling-corpus.js";

interface Outcome {
  readonly reply: ExchangeResult;
  /** Status of a normal request sent after the case. */
  readonly probe: number;
  /** Requests the upstream read to their end. */
  readonly forwarded: readonly SeenRequest[];
  /** Requests the upstream began to read and saw cut off (a streamed body the proxy aborted). */
  readonly cutOff: number;
  readonly upstreamParseErrors: readonly string[];
  /** vireo's records of the case (not the probe). */
  readonly records: readonly RequestRecord[];
}

/** Refused: no request reached the upstream whole. */
const refused = (o: Outcome): boolean => o.forwarded.length === 0;

function describeOutcome(o: Outcome): string {
  const r = o.reply;
  const reply = r.status !== 0 ? String(r.status) : r.timedOut ? "no answer" : "closed";
  const more = r.responses > 1 ? ` (+${r.responses - 1} more)` : "";
  const fwd = refused(o)
    ? o.cutOff > 0
      ? "upstream saw it begin, then aborted"
      : "not forwarded"
    : `forwarded ${o.forwarded.map((s) => `${s.method} ${s.url.slice(0, 16)} (body ${s.bodyBytes} B)`).join(" + ")}`;
  return `${reply}${more}, ${fwd}`;
}

describe("malformed input and request smuggling: vireo beside nginx", function () {
  this.timeout(180_000);
  let up: RecordingUpstream | undefined;
  let nginx: NginxPeer | undefined;
  let vireo: TestProxy | undefined;

  before(async () => {
    up = await startRecordingUpstream();
    nginx = await startNginxPeer(up.port, { clientHeaderTimeoutS: 2, clientBodyTimeoutS: 2 });
    vireo = await startProxy(
      buildSnapshot({
        vhosts: [{ domains: ["*"], routes: [{ to: "app" }] }],
        clusters: { app: { endpoints: [up.port] } },
      }),
    );
  });
  after(async () => {
    await vireo?.proxy.close();
    await nginx?.stop();
    await up?.close();
  });

  async function run(port: number, c: CorpusCase, records?: RequestRecord[]): Promise<Outcome> {
    if (up === undefined) throw new Error("no upstream");
    up.reset();
    const before = records?.length ?? 0;
    const reply = await exchange(port, c, 4_000);
    // The proxy must still serve; its request also marks the end of what this case sent.
    const probe = await send(port, { host: "app", path: "/probe" });
    await up.settled(4_000);
    const seen = up.requests.filter((r) => r.url !== "/probe");
    return {
      reply,
      probe: probe.status,
      forwarded: seen.filter((r) => r.bodyBytes >= 0),
      cutOff: seen.filter((r) => r.bodyBytes < 0).length,
      upstreamParseErrors: [...up.parseErrors],
      records: (records ?? []).slice(before).filter((r) => r.path !== "/probe"),
    };
  }

  it("vireo refuses whatever nginx refuses, smuggles nothing, and keeps serving", async () => {
    assert.ok(nginx !== undefined && vireo !== undefined);
    const table: string[] = ["| case | nginx 1.22 | vireo |", "| --- | --- | --- |"];
    const failures: string[] = [];
    for (const c of CORPUS) {
      const n = await run(nginx.port, c);
      const v = await run(vireo.port, c, vireo.records);
      table.push(
        `| ${c.name.replaceAll("|", "\\|")} | ${describeOutcome(n)} | ${describeOutcome(v)} |`,
      );
      const fail = (why: string): void => {
        failures.push(
          `${c.name}: ${why} (nginx: ${describeOutcome(n)}; vireo: ${describeOutcome(v)})`,
        );
      };
      if (n.probe !== 200) fail(`nginx answered the next request ${n.probe}`);
      if (v.probe !== 200) fail(`vireo answered the next request ${v.probe}`);
      if (refused(n) && !refused(v)) fail("nginx refused it, vireo forwarded it");
      if (refused(v) && v.reply.status >= 200 && v.reply.status < 400)
        fail(`vireo refused it with ${v.reply.status}`);
      if (v.forwarded.length > 1) fail("the upstream saw more than one request");
      if (v.forwarded.some((r) => r.url.includes("smuggled")))
        fail("a smuggled request reached the upstream");
      if (v.upstreamParseErrors.length > 0)
        fail(`the upstream could not parse what vireo sent: ${v.upstreamParseErrors.join()}`);
      const [fwd] = v.forwarded;
      const rec = v.records.find((r) => r.status !== 0 && r.status < 400);
      if (fwd !== undefined && rec !== undefined && rec.bytes.received !== fwd.bodyBytes)
        fail(`vireo read ${rec.bytes.received} body bytes, the upstream ${fwd.bodyBytes}`);
    }
    if (process.env.VIREO_CORPUS_TABLE === "1") console.log(table.join("\n"));
    assert.deepEqual(failures, []);
  });
});
