import assert from "node:assert/strict";
import { parseConfig } from "../../../src/config/config.js";

describe("controller config", () => {
  it("has defaults, takes flags over the environment", () => {
    const c = parseConfig(["--xds-port", "18000"], {
      VIREO_XDS_PORT: "1",
      VIREO_LOG_LEVEL: "debug",
      POD_NAME: "vireo-0",
    });
    assert.equal(c.xdsPort, 18000);
    assert.equal(c.logLevel, "debug");
    assert.equal(c.metricsPort, 8080);
    assert.equal(c.trustDomain, "cluster.local");
    assert.equal(c.identity, "vireo-0");
    assert.equal(c.leaderElection, true);
    assert.equal(c.kubeconfig, undefined);
    assert.equal(c.watchNamespace, undefined);
    assert.equal(c.podName, "vireo-0");
    assert.equal(parseConfig([], {}).podName, undefined);
    assert.equal(c.workers, 2);
  });

  it("reconciles as many Rollouts at once as --workers says", () => {
    assert.equal(parseConfig(["--workers", "8"], {}).workers, 8);
    assert.equal(parseConfig([], { VIREO_WORKERS: "4" }).workers, 4);
  });

  it("watches one namespace when asked", () => {
    assert.equal(parseConfig(["--watch-namespace", "team-a"], {}).watchNamespace, "team-a");
    assert.equal(parseConfig([], { VIREO_WATCH_NAMESPACE: "team-b" }).watchNamespace, "team-b");
    assert.equal(parseConfig([], { VIREO_WATCH_NAMESPACE: "" }).watchNamespace, undefined);
  });

  it("knows its own service account, the CSDS admin identity, from POD_SERVICE_ACCOUNT", () => {
    assert.equal(parseConfig([], {}).serviceAccount, "vireo");
    assert.equal(parseConfig([], { POD_SERVICE_ACCOUNT: "ctl" }).serviceAccount, "ctl");
    assert.equal(parseConfig(["--service-account", "x"], {}).serviceAccount, "x");
  });

  it("serves xDS with authentication unless --xds-insecure says otherwise", () => {
    assert.equal(parseConfig([], {}).xdsInsecure, false);
    assert.equal(parseConfig(["--xds-insecure"], {}).xdsInsecure, true);
    assert.equal(parseConfig(["--xds-insecure", "--log-level", "info"], {}).xdsInsecure, true);
    assert.equal(parseConfig(["--xds-insecure", "false"], {}).xdsInsecure, false);
    assert.equal(parseConfig([], { VIREO_XDS_INSECURE: "true" }).xdsInsecure, true);
  });

  const bad: [string[], RegExp][] = [
    [["--xds-insecure=maybe"], /--xds-insecure: "maybe" must be true or false/],
    [["--xds-port", "70000"], /--xds-port: "70000" is not a port number/],
    [["--log-level", "loud"], /--log-level: unknown log level "loud"/],
    [["--leader-elect", "yes"], /--leader-elect: "yes" must be true or false/],
    [["--nope", "1"], /Unknown option '--nope'/],
    [["--workers", "0"], /--workers: "0" is not a number of workers \(1-64\)/],
    [["--workers", "two"], /--workers: "two" is not a number of workers/],
  ];
  for (const [argv, message] of bad) {
    it(`refuses ${argv.join(" ")} with a message naming the setting`, () => {
      assert.throws(
        () => parseConfig(argv, {}),
        (err: unknown) => {
          assert.ok(err instanceof Error);
          assert.match(err.message, message);
          assert.equal((err as { code?: string }).code, "BadConfig");
          return true;
        },
      );
    });
  }
});
