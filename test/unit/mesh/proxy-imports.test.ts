// What the proxy loads before it serves: the packages reachable from mesh/main.ts through static
// imports (type-only imports are erased; dynamic `import()` is loaded only when its path runs).
// Each package costs RSS in every pod (docs/benchmarks.md, "Issue 14: the proxy's memory").
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const REPO = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");

/** Runtime module specifiers of one file's static imports and re-exports. */
function staticImports(file: string): string[] {
  const source = ts.createSourceFile(file, readFileSync(file, "utf8"), ts.ScriptTarget.Latest);
  const out: string[] = [];
  for (const s of source.statements) {
    if (ts.isImportDeclaration(s) && s.importClause?.phaseModifier !== ts.SyntaxKind.TypeKeyword) {
      if (ts.isStringLiteral(s.moduleSpecifier)) out.push(s.moduleSpecifier.text);
    } else if (ts.isExportDeclaration(s) && !s.isTypeOnly && s.moduleSpecifier !== undefined) {
      if (ts.isStringLiteral(s.moduleSpecifier)) out.push(s.moduleSpecifier.text);
    }
  }
  return out;
}

/** Packages (and node: modules) mesh/main.ts loads at start, and the repository files it does. */
function startupGraph(entry: string): { packages: Set<string>; files: Set<string> } {
  const packages = new Set<string>();
  const files = new Set<string>();
  const visit = (file: string): void => {
    if (files.has(file)) return;
    files.add(file);
    for (const spec of staticImports(file)) {
      if (spec.startsWith(".")) visit(resolve(dirname(file), spec.replace(/\.js$/, ".ts")));
      else packages.add(spec);
    }
  };
  visit(entry);
  return { packages, files };
}

describe("proxy start-up imports", () => {
  const { packages, files } = startupGraph(join(REPO, "mesh", "main.ts"));
  const npm = [...packages].filter((p) => !p.startsWith("node:")).sort();

  it("loads only grpc-js (xDS) and undici's HTTP/1.1 Client from npm", () => {
    assert.deepEqual(npm, ["@grpc/grpc-js", "undici/lib/dispatcher/client.js"]);
  });

  it("leaves mesh security's CA client and CSR (proto-loader, node-forge) to --ca-root", () => {
    const loaded = [...files].map((f) => f.slice(REPO.length + 1));
    for (const lazy of ["mesh/tls/ca-client.ts", "mesh/tls/csr.ts", "mesh/tls/cert-manager.ts"])
      assert.ok(!loaded.includes(lazy), `${lazy} is imported statically`);
  });

  it("leaves the capture step (koffi's reader aside) to `main.ts capture`", () => {
    const loaded = [...files].map((f) => f.slice(REPO.length + 1));
    assert.ok(!loaded.some((f) => f.startsWith("mesh/capture/")));
  });
});
