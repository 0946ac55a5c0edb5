// Routes the proxy answers itself: a RedirectAction or a DirectResponseAction, as the model's
// Redirect and DirectResponse.
import type { DirectResponseAction__Output } from "../../src/xds/generated/envoy/config/route/v3/DirectResponseAction.js";
import type { RedirectAction__Output } from "../../src/xds/generated/envoy/config/route/v3/RedirectAction.js";
import type { DirectResponse, Redirect, RedirectCode } from "../routing/model.js";
import { prefixRewrite, regexRewrite } from "./convert-rewrite.js";
import { fail } from "./proto-values.js";

const CODES: Readonly<Record<string, RedirectCode>> = {
  MOVED_PERMANENTLY: 301,
  FOUND: 302,
  SEE_OTHER: 303,
  TEMPORARY_REDIRECT: 307,
  PERMANENT_REDIRECT: 308,
};

/** Envoy's default cap on a direct response body (max_direct_response_body_size_bytes). */
export const DEFAULT_MAX_DIRECT_BODY = 4096;

function checkValue(v: string, what: string): string {
  if (/[\r\n\0]/u.test(v)) fail(`redirect ${what} is not a valid header value`);
  return v;
}

export function redirect(r: RedirectAction__Output): Redirect {
  const status = CODES[r.response_code];
  if (status === undefined) fail(`redirect response_code ${r.response_code} is not supported`);
  if (r.port_redirect > 65535) fail(`redirect port_redirect ${r.port_redirect} is not a port`);
  let scheme: string | undefined;
  if (r.scheme_rewrite_specifier === "scheme_redirect" && r.scheme_redirect !== "")
    scheme = checkValue(r.scheme_redirect ?? "", "scheme_redirect");
  else if (r.scheme_rewrite_specifier === "https_redirect" && r.https_redirect === true)
    scheme = "https";
  let path: Redirect["path"];
  switch (r.path_rewrite_specifier) {
    case "path_redirect":
      // Envoy treats an empty path_redirect as none.
      if (r.path_redirect !== undefined && r.path_redirect !== "")
        path = { kind: "path", value: checkValue(r.path_redirect, "path_redirect") };
      break;
    case "prefix_rewrite":
      if (r.prefix_rewrite !== undefined && r.prefix_rewrite !== "")
        path = prefixRewrite(r.prefix_rewrite, "redirect prefix_rewrite");
      break;
    case "regex_rewrite":
      path = regexRewrite(r.regex_rewrite, "redirect regex_rewrite");
      break;
    case undefined:
      break;
  }
  return {
    kind: "redirect",
    status,
    ...(scheme !== undefined && { scheme }),
    ...(r.host_redirect !== "" && { host: checkValue(r.host_redirect, "host_redirect") }),
    port: r.port_redirect,
    ...(path !== undefined && { path }),
    stripQuery: r.strip_query,
  };
}

export function directResponse(d: DirectResponseAction__Output, maxBody: number): DirectResponse {
  if (d.status < 200 || d.status >= 600)
    fail(`direct_response status ${d.status} is outside 200-599`);
  let body = "";
  const b = d.body;
  if (b !== null) {
    switch (b.specifier) {
      case "inline_string":
        body = b.inline_string ?? "";
        break;
      case "inline_bytes":
        body = (b.inline_bytes ?? Buffer.alloc(0)).toString("utf8");
        break;
      case "filename":
      case "environment_variable":
        return fail(`direct_response body ${b.specifier} is not supported`);
      case undefined:
        break;
    }
  }
  const size = Buffer.byteLength(body);
  if (size > maxBody)
    fail(
      `direct_response body is ${size} bytes, over max_direct_response_body_size_bytes ${maxBody}`,
    );
  return { kind: "direct", status: d.status, body };
}
