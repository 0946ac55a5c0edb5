// How much sidecar injection adds to a pod's start: the time from create to Ready of the same pod
// (vireo/echo with a 1 s TCP readiness probe) injected and not (`vireo.dev/inject: disabled`),
// alternated in one run so both see the same machine. Needs vireo installed and a namespace
// labelled vireo.dev/inject=enabled (make demo KEEP=1 leaves both: --namespace demo).
//
//   node --import tsx test/bench/injection/startup.ts --namespace demo --pods 5
import { parseArgs } from "node:util";
import { cluster } from "../../integration/harness.js";

const { values } = parseArgs({
  options: {
    namespace: { type: "string", default: "demo" },
    pods: { type: "string", default: "5" },
  },
});
const namespace = values.namespace;
const n = Number(values.pods);
if (!Number.isInteger(n) || n < 1) throw new Error(`--pods ${values.pods}: not a positive integer`);
const { core } = cluster();

async function timeToReady(name: string, injected: boolean): Promise<number> {
  const started = Date.now();
  await core.createNamespacedPod({
    namespace,
    body: {
      metadata: {
        name,
        labels: { app: "startup-bench" },
        annotations: injected ? {} : { "vireo.dev/inject": "disabled" },
      },
      spec: {
        terminationGracePeriodSeconds: 1,
        containers: [
          {
            name: "echo",
            image: "vireo/echo:v1",
            ports: [{ name: "http", containerPort: 8080 }],
            readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1 },
          },
        ],
      },
    },
  });
  try {
    for (;;) {
      const p = await core.readNamespacedPod({ namespace, name });
      const ready = p.status?.conditions?.find((c) => c.type === "Ready")?.status === "True";
      if (ready) {
        const got = (p.spec?.initContainers ?? []).some((c) => c.name === "vireo-proxy");
        if (got !== injected)
          throw new Error(`${name}: injected=${String(got)}, expected ${String(injected)}`);
        return Date.now() - started;
      }
      if (Date.now() - started > 180_000) throw new Error(`${name}: not Ready after 180 s`);
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    await core.deleteNamespacedPod({ namespace, name, gracePeriodSeconds: 0 });
  }
}

const times = { plain: [] as number[], injected: [] as number[] };
for (let i = 0; i < n; i++) {
  for (const injected of i % 2 === 0 ? [false, true] : [true, false]) {
    const kind = injected ? "injected" : "plain";
    const ms = await timeToReady(`startup-bench-${kind}-${String(i)}`, injected);
    times[kind].push(ms);
    process.stdout.write(`${kind} ${String(i)}: ${String(ms)} ms to Ready\n`);
  }
}
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
};
const p = median(times.plain);
const j = median(times.injected);
process.stdout.write(
  `median create → Ready: plain ${String(p)} ms, injected ${String(j)} ms ` +
    `(+${String(j - p)} ms, ×${(j / p).toFixed(2)}); ${String(n)} pods each\n`,
);
