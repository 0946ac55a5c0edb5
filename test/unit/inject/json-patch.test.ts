import assert from "node:assert/strict";
import type { Json } from "../../../src/inject/json-patch.js";
import { applyPatch, diff, escapeKey } from "../../../src/inject/json-patch.js";

describe("json-patch diff", () => {
  const cases: { name: string; from: Json; to: Json; ops: unknown[] }[] = [
    { name: "equal", from: { a: [1, { b: 2 }] }, to: { a: [1, { b: 2 }] }, ops: [] },
    {
      name: "a missing parent is added whole",
      from: { metadata: {} },
      to: { metadata: { annotations: { "a/b": "x" } } },
      ops: [{ op: "add", path: "/metadata/annotations", value: { "a/b": "x" } }],
    },
    {
      name: "keys with / and ~ are escaped",
      from: { m: { "x~y": "1" } },
      to: { m: { "x~y": "1", "a/b": "2" } },
      ops: [{ op: "add", path: "/m/a~1b", value: "2" }],
    },
    {
      name: "insert at the front shifts the rest",
      from: { l: ["u"] },
      to: { l: ["i", "p", "u"] },
      ops: [
        { op: "add", path: "/l/0", value: "i" },
        { op: "add", path: "/l/1", value: "p" },
      ],
    },
    {
      name: "append uses -",
      from: { l: ["u"] },
      to: { l: ["u", "v", "w"] },
      ops: [
        { op: "add", path: "/l/-", value: "v" },
        { op: "add", path: "/l/-", value: "w" },
      ],
    },
    {
      name: "changed elements of same-length arrays recurse",
      from: { l: [{ a: 1, b: 1 }] },
      to: { l: [{ a: 2 }] },
      ops: [
        { op: "remove", path: "/l/0/b" },
        { op: "replace", path: "/l/0/a", value: 2 },
      ],
    },
    {
      name: "anything else replaces the array",
      from: { l: [1, 2, 3] },
      to: { l: [3, 1] },
      ops: [{ op: "replace", path: "/l", value: [3, 1] }],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const ops = diff(c.from, c.to);
      assert.deepEqual(ops, c.ops);
      assert.deepEqual(applyPatch(c.from, ops), c.to);
    });
  }

  it("escapes ~ before /", () => {
    assert.equal(escapeKey("a~/b"), "a~0~1b");
  });

  it("refuses an operation whose parent does not exist", () => {
    assert.throws(
      () => applyPatch({}, [{ op: "add", path: "/a/b", value: 1 }]),
      /parent does not exist/,
    );
  });
});
