import assert from "node:assert/strict";
import { parseImage, resolveCommand } from "../../cluster/node-agent/images.js";

const map = new Map([
  ["vireo/echo", { entrypoint: ["node", "echo.ts"], args: ["--version={tag}"] }],
  ["busybox", { entrypoint: ["sh"] }],
]);

describe("node agent image map", () => {
  it("splits name and tag, keeping registry ports in the name", () => {
    assert.deepEqual(parseImage("vireo/echo:v2"), { name: "vireo/echo", tag: "v2" });
    assert.deepEqual(parseImage("busybox"), { name: "busybox", tag: "latest" });
    assert.deepEqual(parseImage("reg:5000/app"), { name: "reg:5000/app", tag: "latest" });
    assert.deepEqual(parseImage("app@sha256:ab"), { name: "app", tag: "sha256:ab" });
  });

  const cases: {
    name: string;
    image: string;
    command?: string[];
    args?: string[];
    argv: string[];
  }[] = [
    {
      name: "image defaults, tag substituted",
      image: "vireo/echo:v2",
      argv: ["node", "echo.ts", "--version=v2"],
    },
    {
      name: "args replace the default args",
      image: "vireo/echo:v1",
      args: ["--port=9"],
      argv: ["node", "echo.ts", "--port=9"],
    },
    {
      name: "command replaces entrypoint and drops default args",
      image: "vireo/echo",
      command: ["sleep", "1"],
      argv: ["sleep", "1"],
    },
    {
      name: "command with args",
      image: "busybox",
      command: ["sh", "-c"],
      args: ["echo hi"],
      argv: ["sh", "-c", "echo hi"],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      assert.deepEqual(resolveCommand(map, c.image, c.command, c.args), { ok: true, argv: c.argv });
    });
  }

  it("reports an unknown image as ErrImagePull with the known names", () => {
    const r = resolveCommand(map, "nginx:1.27", undefined, undefined);
    assert.deepEqual(r, {
      ok: false,
      reason: "ErrImagePull",
      message: 'image "nginx" is not in test/cluster/images.json (known: vireo/echo, busybox)',
    });
  });
});
