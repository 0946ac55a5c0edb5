#!/usr/bin/env node
// The vireo CLI (also `kubectl vireo`): get, status [--watch], promote, abort, retry, pause, resume,
// check, ca (status and root rotation), and inject (offline). Manual actions are annotations on the Rollout, so `kubectl annotate` does
// the same.
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import {
  AdmissionregistrationV1Api,
  ApiextensionsV1Api,
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  DiscoveryV1Api,
  KubeConfig,
  PatchStrategy,
  setHeaderOptions,
} from "@kubernetes/client-node";
import { parseDuration } from "../api/duration.js";
import { ROLLOUT_GROUP, ROLLOUT_PLURAL, ROLLOUT_VERSION } from "../api/rollout-wire.js";
import { apiMessage } from "../kube/api-errors.js";
import { ACTION_ANNOTATION, ACTION_ID_ANNOTATION } from "../reconciler/observe.js";
import { DEFAULT_INJECT_CONFIG } from "../inject/config.js";
import { rolloutTable, rolloutView, statusText, terminal } from "./format.js";
import { injectManifests } from "./inject.js";
import { formatChecks, runChecks } from "./check.js";
import type { CaCommand } from "./ca.js";
import { CA_COMMANDS, runCaCommand } from "./ca.js";
import { createLogger } from "../common/logger.js";

const ACTIONS = ["promote", "abort", "retry", "pause", "resume"] as const;

const USAGE = `usage: vireo <command> [flags]

commands:
  get [NAME]                 list Rollouts (-A for every namespace)
  status NAME [--watch]      show one Rollout; --watch follows it and exits 0 when it succeeds,
                             1 when it fails (for CI pipelines)
  promote NAME               skip the remaining steps, or release a pause without duration
  abort NAME                 roll back now: all traffic to the primary, canary scaled down
  retry NAME                 run a failed revision again without changing the template
  pause NAME / resume NAME   hold the release where it is / let it continue
  ca status                  the CA in Secret vireo-ca: roots, issuer, expiry, renewal, rotation
  ca rotate-root [--dry-run] phase one of a root rotation: a new root and issuer sign, the old
                             root stays trusted (--dry-run prints what it would write)
  ca drop-old-roots [--dry-run]
                             phase two, once every workload renewed (24 h): stop trusting the
                             previous roots
                             (ca: -n is the controller's namespace, default vireo-system)
  check                      verify the install (CRDs, controller, CA, webhook called with a
                             dry-run pod) and the data plane (every injected pod's proxy ready,
                             connected, not rejecting its configuration; version skew, a
                             warning); exit 1 if any check fails; -n is the controller's
                             namespace (default vireo-system)
  inject -f FILE|-           add the vireo sidecar to the pod templates of FILE (YAML or JSON,
                             multi-document, Lists), offline, as the webhook would; writes YAML
                             to stdout, notes about skipped pods to stderr

flags:
  -n, --namespace NS         namespace (default: the kubeconfig context's, else "default")
  -A, --all-namespaces       with get
  --kubeconfig PATH          (default: $KUBECONFIG, ~/.kube/config, or in-cluster)
  --dry-run                  with ca rotate-root / drop-old-roots: say what, write nothing
  --trust-domain DOMAIN      with ca rotate-root (default: the current root's)
  --timeout DURATION         with status --watch, e.g. 10m (default: none)
  -f, --filename FILE        with inject; - reads stdin
  --proxy-image IMAGE        with inject (default: ${DEFAULT_INJECT_CONFIG.proxyImage})
  --xds-address HOST:PORT    with inject (default: ${DEFAULT_INJECT_CONFIG.xdsAddress})
  --probe-namespace NS       with check: where the dry-run pod is made (default: default)
  --install-only             with check: skip the data-plane checks
  --release NAME             with check: the chart's full name (default: vireo)
`;

class UsageError extends Error {}

function timeout(s: string): number {
  const ms = parseDuration(s);
  if (ms === undefined) throw new UsageError(`--timeout: "${s}" is not a duration like 90s or 10m`);
  return ms;
}
async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      namespace: { type: "string", short: "n" },
      "all-namespaces": { type: "boolean", short: "A" },
      kubeconfig: { type: "string" },
      watch: { type: "boolean", short: "w" },
      timeout: { type: "string" },
      filename: { type: "string", short: "f" },
      "proxy-image": { type: "string" },
      "xds-address": { type: "string" },
      output: { type: "string", short: "o" },
      help: { type: "boolean", short: "h" },
      "dry-run": { type: "boolean" },
      "trust-domain": { type: "string" },
      "probe-namespace": { type: "string" },
      "install-only": { type: "boolean" },
      release: { type: "string" },
    },
  });
  const [command, name] = positionals;
  if (values.help === true || command === undefined) {
    process.stdout.write(USAGE);
    return command === undefined && values.help !== true ? 2 : 0;
  }
  if (command === "inject") {
    const file = values.filename;
    if (file === undefined) throw new UsageError("inject needs -f FILE (or -f - for stdin)");
    const text = readFileSync(file === "-" ? 0 : file, "utf8");
    const out = injectManifests(text, {
      ...DEFAULT_INJECT_CONFIG,
      ...(values["proxy-image"] === undefined ? {} : { proxyImage: values["proxy-image"] }),
      ...(values["xds-address"] === undefined ? {} : { xdsAddress: values["xds-address"] }),
    });
    for (const n of out.notes) process.stderr.write(`vireo inject: ${n}\n`);
    process.stdout.write(out.yaml);
    return 0;
  }
  const kc = new KubeConfig();
  if (values.kubeconfig !== undefined) kc.loadFromFile(values.kubeconfig);
  else kc.loadFromDefault();
  const namespace =
    values.namespace ?? kc.getContextObject(kc.getCurrentContext())?.namespace ?? "default";
  if (command === "ca") {
    const sub = name;
    if (sub === undefined || !(CA_COMMANDS as readonly string[]).includes(sub))
      throw new UsageError(`ca needs one of: ${CA_COMMANDS.join(", ")}`);
    const lines = await runCaCommand(sub as CaCommand, {
      core: kc.makeApiClient(CoreV1Api),
      namespace: values.namespace ?? "vireo-system",
      now: Date.now(),
      dryRun: values["dry-run"] === true,
      trustDomain: values["trust-domain"],
      log: createLogger({ component: "cli", level: "error" }),
    });
    process.stdout.write(lines.map((l) => `${l}\n`).join(""));
    return 0;
  }
  if (command === "check") {
    const results = await runChecks(
      {
        core: kc.makeApiClient(CoreV1Api),
        apps: kc.makeApiClient(AppsV1Api),
        ext: kc.makeApiClient(ApiextensionsV1Api),
        admission: kc.makeApiClient(AdmissionregistrationV1Api),
        discovery: kc.makeApiClient(DiscoveryV1Api),
      },
      {
        namespace: values.namespace ?? "vireo-system",
        release: values.release ?? "vireo",
        now: Date.now(),
        installOnly: values["install-only"] === true,
        ...(values["probe-namespace"] !== undefined && {
          probeNamespace: values["probe-namespace"],
        }),
      },
    );
    process.stdout.write(
      values.output === "json" ? JSON.stringify(results, null, 2) + "\n" : formatChecks(results),
    );
    return results.every((r) => r.ok) ? 0 : 1;
  }
  const api = kc.makeApiClient(CustomObjectsApi);
  const get = (n: string): Promise<unknown> =>
    api.getNamespacedCustomObject({
      group: ROLLOUT_GROUP,
      version: ROLLOUT_VERSION,
      namespace,
      plural: ROLLOUT_PLURAL,
      name: n,
    });
  const needName = (): string => {
    if (name === undefined) throw new UsageError(`${command} needs the Rollout's name`);
    return name;
  };

  switch (command) {
    case "get": {
      if (name !== undefined) {
        process.stdout.write(rolloutTable([rolloutView(await get(name))], Date.now(), false));
        return 0;
      }
      const all = values["all-namespaces"] === true;
      const list = (
        all
          ? await api.listClusterCustomObject({
              group: ROLLOUT_GROUP,
              version: ROLLOUT_VERSION,
              plural: ROLLOUT_PLURAL,
            })
          : await api.listNamespacedCustomObject({
              group: ROLLOUT_GROUP,
              version: ROLLOUT_VERSION,
              namespace,
              plural: ROLLOUT_PLURAL,
            })
      ) as {
        items: unknown[];
      };
      if (list.items.length === 0) {
        process.stderr.write(
          all ? "No Rollouts found.\n" : `No Rollouts found in namespace ${namespace}.\n`,
        );
        return 0;
      }
      process.stdout.write(rolloutTable(list.items.map(rolloutView), Date.now(), all));
      return 0;
    }
    case "status": {
      const n = needName();
      if (values.watch !== true) {
        process.stdout.write(statusText(rolloutView(await get(n)), Date.now()));
        return 0;
      }
      const deadline =
        values.timeout === undefined ? Infinity : Date.now() + timeout(values.timeout);
      let last = "";
      for (;;) {
        const v = rolloutView(await get(n));
        const line = `${new Date().toISOString().slice(11, 19)}  ${v.phase.padEnd(16)} weight ${String(v.canaryWeight).padStart(3)} (verified ${v.verifiedWeight})  step ${v.currentStep}  failed ${v.failedChecks}  ${v.message}`;
        if (line.slice(10) !== last) process.stdout.write(`${line}\n`);
        last = line.slice(10);
        const end = terminal(v);
        if (end !== undefined && v.phase !== "Initialized") return end === "succeeded" ? 0 : 1;
        if (Date.now() > deadline) {
          process.stderr.write(`timed out waiting for ${namespace}/${n}: phase ${v.phase}\n`);
          return 1;
        }
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
    default: {
      if (!(ACTIONS as readonly string[]).includes(command))
        throw new UsageError(`unknown command "${command}"`);
      const n = needName();
      await get(n); // a clear "not found" before patching
      const id = `${Date.now().toString(36)}-${randomBytes(3).toString("hex")}`;
      await api.patchNamespacedCustomObject(
        {
          group: ROLLOUT_GROUP,
          version: ROLLOUT_VERSION,
          namespace,
          plural: ROLLOUT_PLURAL,
          name: n,
          body: {
            metadata: { annotations: { [ACTION_ANNOTATION]: command, [ACTION_ID_ANNOTATION]: id } },
          },
        },
        setHeaderOptions("Content-Type", PatchStrategy.MergePatch),
      );
      process.stdout.write(`rollout ${namespace}/${n}: ${command} requested (${id})\n`);
      return 0;
    }
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    const usage =
      err instanceof UsageError ||
      (err as { code?: string }).code === "ERR_PARSE_ARGS_UNKNOWN_OPTION";
    process.stderr.write(
      `vireo: ${apiMessage(err)}\n${usage ? "run `vireo --help` for usage\n" : ""}`,
    );
    process.exitCode = usage ? 2 : 1;
  },
);
