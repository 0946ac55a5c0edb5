import assert from "node:assert/strict";
import type { V1Container, V1Pod } from "@kubernetes/client-node";
import {
  DEFAULT_CAPS,
  fsUserOf,
  planCaps,
  planSecurity,
  setprivArgv,
} from "../../cluster/node-agent/security.js";

const c = (securityContext?: V1Container["securityContext"]): V1Container => ({
  name: "c",
  image: "busybox",
  ...(securityContext === undefined ? {} : { securityContext }),
});
const pod = (securityContext?: NonNullable<V1Pod["spec"]>["securityContext"]): V1Pod => ({
  metadata: { name: "web", namespace: "shop", uid: "u1" },
  spec: { containers: [], ...(securityContext === undefined ? {} : { securityContext }) },
});
const sorted = (xs: readonly string[]): string[] => [...xs].sort();

describe("node agent capabilities", () => {
  const cases: [string, V1Container["securityContext"], readonly string[] | "all" | "not-all"][] = [
    ["default: Docker's set", undefined, sorted(DEFAULT_CAPS)],
    [
      "add NET_ADMIN",
      { capabilities: { add: ["NET_ADMIN"] } },
      sorted([...DEFAULT_CAPS, "NET_ADMIN"]),
    ],
    [
      "the capture step: drop ALL, add NET_ADMIN and NET_RAW",
      { capabilities: { add: ["NET_ADMIN", "NET_RAW"], drop: ["ALL"] } },
      ["NET_ADMIN", "NET_RAW"],
    ],
    ["the proxy: drop ALL", { capabilities: { drop: ["ALL"] } }, []],
    [
      "drop one, CAP_ prefix and case ignored",
      { capabilities: { drop: ["cap_net_raw", "KILL"] } },
      sorted(DEFAULT_CAPS.filter((x) => x !== "NET_RAW" && x !== "KILL")),
    ],
    ["add ALL then drop one", { capabilities: { add: ["ALL"], drop: ["SYS_ADMIN"] } }, "not-all"],
    ["privileged", { privileged: true, capabilities: { drop: ["ALL"] } }, "all"],
  ];
  for (const [name, sc, want] of cases) {
    it(name, () => {
      const got = planCaps(c(sc));
      assert.ok(got.ok);
      if (want === "not-all") {
        const caps = got.caps;
        assert.ok(caps !== "all");
        assert.ok(caps.includes("NET_ADMIN") && caps.includes("SYS_MODULE"));
        assert.ok(!caps.includes("SYS_ADMIN"));
      } else assert.deepEqual(got.caps, want);
    });
  }

  it("rejects an unknown capability, naming it", () => {
    const got = planCaps(c({ capabilities: { add: ["NET_WIZARD"] } }));
    assert.deepEqual(got, { ok: false, message: 'unknown capability "NET_WIZARD"' });
  });
});

describe("node agent runAsUser/runAsGroup", () => {
  it("runs as root with no groups by default", () => {
    const d = planSecurity(pod(), c());
    assert.ok(d.ok);
    assert.deepEqual(
      { uid: d.plan.uid, gid: d.plan.gid, groups: d.plan.groups },
      { uid: 0, gid: 0, groups: [] },
    );
  });

  it("takes the pod's user and group, the container's over them, fsGroup as a group", () => {
    const p = pod({ runAsUser: 1000, runAsGroup: 3000, fsGroup: 2000, supplementalGroups: [4000] });
    const inherits = planSecurity(p, c());
    assert.ok(inherits.ok);
    assert.deepEqual(
      [inherits.plan.uid, inherits.plan.gid, inherits.plan.groups],
      [1000, 3000, [4000, 2000]],
    );
    const own = planSecurity(p, c({ runAsUser: 1337, runAsGroup: 1337 }));
    assert.ok(own.ok);
    assert.deepEqual([own.plan.uid, own.plan.gid], [1337, 1337]);
    const userOnly = planSecurity(pod(), c({ runAsUser: 1337 }));
    assert.ok(userOnly.ok);
    assert.deepEqual([userOnly.plan.uid, userOnly.plan.gid], [1337, 0]);
  });

  it("refuses root under runAsNonRoot with the kubelet's messages", () => {
    assert.deepEqual(planSecurity(pod(), c({ runAsNonRoot: true })), {
      ok: false,
      reason: "CreateContainerConfigError",
      message:
        'container has runAsNonRoot and image will run as root (pod: "web_shop(u1)", container: c)',
    });
    const explicit = planSecurity(pod({ runAsNonRoot: true }), c({ runAsUser: 0 }));
    assert.ok(!explicit.ok);
    assert.match(explicit.message, /^container's runAsUser breaks non-root policy/);
    assert.ok(planSecurity(pod({ runAsNonRoot: true }), c({ runAsUser: 1337 })).ok);
    // The capture step sets runAsNonRoot false itself under a non-root pod default.
    assert.ok(
      planSecurity(pod({ runAsNonRoot: true }), c({ runAsUser: 0, runAsNonRoot: false })).ok,
    );
  });

  it("builds the setpriv argv", () => {
    assert.deepEqual(
      setprivArgv({ uid: 1337, gid: 1337, groups: [], caps: [], noNewPrivs: true }),
      [
        "setpriv",
        "--reuid",
        "1337",
        "--regid",
        "1337",
        "--clear-groups",
        "--bounding-set",
        "-all",
        "--inh-caps",
        "-all",
        "--no-new-privs",
        "--",
      ],
    );
    assert.deepEqual(
      setprivArgv({
        uid: 0,
        gid: 0,
        groups: [5, 6],
        caps: ["NET_ADMIN", "NET_RAW"],
        noNewPrivs: false,
      }),
      [
        "setpriv",
        "--reuid",
        "0",
        "--regid",
        "0",
        "--groups",
        "5,6",
        "--bounding-set",
        "-all,+net_admin,+net_raw",
        "--inh-caps",
        "-all",
        "--",
      ],
    );
    assert.deepEqual(setprivArgv({ uid: 0, gid: 0, groups: [], caps: "all", noNewPrivs: false }), [
      "setpriv",
      "--reuid",
      "0",
      "--regid",
      "0",
      "--clear-groups",
      "--",
    ]);
  });

  it("turns allowPrivilegeEscalation false into no_new_privs", () => {
    const d = planSecurity(pod(), c({ allowPrivilegeEscalation: false }));
    assert.ok(d.ok && d.plan.noNewPrivs);
  });

  it("finds the runAsUser every container shares (the kubelet's FsUser), init containers included", () => {
    const spec = (
      psc: NonNullable<V1Pod["spec"]>["securityContext"],
      users: (number | undefined)[],
      init: (number | undefined)[] = [],
    ): V1Pod => ({
      spec: {
        ...(psc === undefined ? {} : { securityContext: psc }),
        initContainers: init
          .map((u) => c(u === undefined ? undefined : { runAsUser: u }))
          .map((x, i) => ({ ...x, name: `i${String(i)}` })),
        containers: users.map((u) => c(u === undefined ? undefined : { runAsUser: u })),
      },
    });
    assert.equal(fsUserOf(spec(undefined, [1337, 1337])), 1337);
    assert.equal(fsUserOf(spec({ runAsUser: 1000 }, [undefined, undefined])), 1000);
    assert.equal(fsUserOf(spec(undefined, [1337, undefined])), undefined);
    // The injected pod: capture as 0, proxy as 1337, the app unset: no owner, the token stays 0644.
    assert.equal(fsUserOf(spec(undefined, [undefined], [0, 1337])), undefined);
  });
});
