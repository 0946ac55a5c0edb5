// Resolves a container image to a local command through the committed image map, so manifests name
// the images a real cluster would pull while the node runs local programs.
import { readFileSync } from "node:fs";

export interface ImageEntry {
  readonly entrypoint: readonly string[];
  readonly args?: readonly string[];
}

export type ImageMap = ReadonlyMap<string, ImageEntry>;

export interface ImageRef {
  readonly name: string;
  readonly tag: string;
}

/** `registry/app:v2` -> {name: "registry/app", tag: "v2"}; digests count as the tag. */
export function parseImage(image: string): ImageRef {
  const at = image.indexOf("@");
  if (at >= 0) return { name: image.slice(0, at), tag: image.slice(at + 1) };
  const slash = image.lastIndexOf("/");
  const colon = image.lastIndexOf(":");
  if (colon > slash) return { name: image.slice(0, colon), tag: image.slice(colon + 1) };
  return { name: image, tag: "latest" };
}

export function loadImageMap(path: string): ImageMap {
  const raw = JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>;
  const map = new Map<string, ImageEntry>();
  for (const [name, value] of Object.entries(raw)) {
    if (name.startsWith("$")) continue;
    if (!isImageEntry(value)) throw new Error(`${path}: entry "${name}" needs an entrypoint array`);
    map.set(name, value);
  }
  return map;
}

function isImageEntry(v: unknown): v is ImageEntry {
  if (typeof v !== "object" || v === null) return false;
  const e = v as Record<string, unknown>;
  const strings = (x: unknown): boolean =>
    Array.isArray(x) && x.every((s) => typeof s === "string");
  return strings(e.entrypoint) && (e.args === undefined || strings(e.args));
}

export type ResolvedCommand =
  | { readonly ok: true; readonly argv: readonly string[] }
  | { readonly ok: false; readonly reason: string; readonly message: string };

/**
 * Kubernetes semantics: `command` replaces the image's entrypoint and `args` its default arguments;
 * `args` alone keeps the entrypoint.
 */
export function resolveCommand(
  map: ImageMap,
  image: string,
  command: readonly string[] | undefined,
  args: readonly string[] | undefined,
): ResolvedCommand {
  const ref = parseImage(image);
  const entry = map.get(ref.name);
  if (entry === undefined) {
    return {
      ok: false,
      reason: "ErrImagePull",
      message: `image "${ref.name}" is not in test/cluster/images.json (known: ${[...map.keys()].join(", ")})`,
    };
  }
  const withTag = (xs: readonly string[]): string[] =>
    xs.map((x) => x.replaceAll("{tag}", ref.tag));
  const hasCommand = command !== undefined && command.length > 0;
  const entrypoint = hasCommand ? command : withTag(entry.entrypoint);
  const finalArgs =
    args !== undefined && args.length > 0 ? args : hasCommand ? [] : withTag(entry.args ?? []);
  const argv = [...entrypoint, ...finalArgs];
  if (argv.length === 0) {
    return {
      ok: false,
      reason: "CreateContainerError",
      message: `no command for image "${image}"`,
    };
  }
  return { ok: true, argv };
}
