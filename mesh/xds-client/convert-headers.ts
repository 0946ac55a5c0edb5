// Header mutations (request_headers_to_add/remove, response_headers_to_add/remove) of each level,
// compiled into the levels a route applies, in Envoy's order.
import type { HeaderValueOption__Output } from "../../src/xds/generated/envoy/config/core/v3/HeaderValueOption.js";
import type { AppendAction, HeaderAdd, HeaderEdits } from "../routing/model.js";
import { fail } from "./proto-values.js";

/** The four lists of a Route, VirtualHost or RouteConfiguration. */
export interface HeaderMutations {
  readonly request_headers_to_add: readonly HeaderValueOption__Output[];
  readonly request_headers_to_remove: readonly string[];
  readonly response_headers_to_add: readonly HeaderValueOption__Output[];
  readonly response_headers_to_remove: readonly string[];
}

const ACTIONS: Readonly<Record<string, AppendAction>> = {
  APPEND_IF_EXISTS_OR_ADD: "append",
  ADD_IF_ABSENT: "add-if-absent",
  OVERWRITE_IF_EXISTS_OR_ADD: "overwrite",
  OVERWRITE_IF_EXISTS: "overwrite-if-exists",
};

/** Envoy refuses to touch pseudo-headers and Host this way (`isModifiableHeader`). */
function headerName(raw: string, what: string): string {
  const name = raw.toLowerCase();
  if (name === "" || name.startsWith(":") || name === "host")
    fail(`${what}: header ${raw === "" ? "(empty)" : raw} may not be modified`);
  if (!/^[!#$%&'*+\-.^_`|~0-9a-z]+$/u.test(name)) fail(`${what}: invalid header name ${raw}`);
  return name;
}

/**
 * A value is a substitution-formatter template in Envoy: `%%` is a literal `%`, and `%COMMAND%`
 * is replaced per request. No command is implemented, so one refuses the value.
 */
function literal(value: string, name: string, what: string): string {
  if (!value.includes("%")) return value;
  const parts = value.split("%%");
  if (parts.some((p) => p.includes("%")))
    fail(`${what}: header ${name}: value formatters (%…%) are not supported`);
  return parts.join("%");
}

function headerAdd(o: HeaderValueOption__Output, what: string): HeaderAdd | undefined {
  const h = o.header;
  if (h === null) fail(`${what}: header value option without a header`);
  const name = headerName(h.key, what);
  const raw = h.value !== "" ? h.value : h.raw_value.toString("latin1");
  if (/[\r\n\0]/u.test(raw)) fail(`${what}: header ${name}: invalid value`);
  let action = ACTIONS[o.append_action];
  if (action === undefined)
    fail(`${what}: header ${name}: unknown append_action ${o.append_action}`);
  // The deprecated bool: Envoy refuses it beside a non-default append_action.
  if (o.append !== null) {
    if (action !== "append") fail(`${what}: header ${name}: both append and append_action are set`);
    action = o.append.value ? "append" : "overwrite";
  }
  const value = literal(raw, name, what);
  // An empty value adds nothing unless asked to (keep_empty_value).
  if (value === "" && !o.keep_empty_value) return undefined;
  return { name, value, action };
}

function edits(
  add: readonly HeaderValueOption__Output[],
  remove: readonly string[],
  what: string,
): HeaderEdits | undefined {
  if (add.length === 0 && remove.length === 0) return undefined;
  return {
    remove: remove.map((r) => headerName(r, what)),
    add: add.map((o) => headerAdd(o, what)).filter((a): a is HeaderAdd => a !== undefined),
  };
}

/** One level's request and response changes, each absent when it has none. */
export interface LevelEdits {
  readonly request?: HeaderEdits;
  readonly response?: HeaderEdits;
}

export function levelEdits(m: HeaderMutations, what: string): LevelEdits {
  const request = edits(m.request_headers_to_add, m.request_headers_to_remove, what);
  const response = edits(m.response_headers_to_add, m.response_headers_to_remove, what);
  return {
    ...(request !== undefined && { request }),
    ...(response !== undefined && { response }),
  };
}

export interface HeaderLevels {
  readonly request: readonly HeaderEdits[];
  readonly response: readonly HeaderEdits[];
}

/**
 * The levels as one route applies them, given most specific (the route's) first. Envoy evaluates
 * the route's first and the route configuration's last, so an outer level overrides an inner
 * one; the configuration's most_specific_header_mutations_wins reverses that.
 */
export function headerLevels(
  levels: readonly LevelEdits[],
  mostSpecificWins: boolean,
): HeaderLevels {
  const ordered = mostSpecificWins ? [...levels].reverse() : levels;
  return {
    request: ordered.flatMap((l) => (l.request === undefined ? [] : [l.request])),
    response: ordered.flatMap((l) => (l.response === undefined ? [] : [l.response])),
  };
}
