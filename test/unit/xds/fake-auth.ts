// An in-memory XdsAuth for server tests: the Bearer token "<namespace>/<service account>" is that
// service account's token; anything else is refused, as TokenReview would.
import * as grpc from "@grpc/grpc-js";
import type { Authentication, CallCredentials } from "../../../src/pki/caller.js";
import type { XdsAuth } from "../../../src/xds/server/auth.js";

export function tokenOf(namespace: string, serviceAccount: string): grpc.Metadata {
  const md = new grpc.Metadata();
  md.set("authorization", `Bearer ${namespace}/${serviceAccount}`);
  return md;
}

export function fakeAuth(): XdsAuth {
  return {
    authenticate(call: CallCredentials): Promise<Authentication> {
      const header = call.metadata.get("authorization")[0];
      const m = /^Bearer ([^/]+)\/([^/]+)$/.exec(typeof header === "string" ? header : "");
      if (m === null) return Promise.resolve({ ok: false, reason: "no credentials" });
      return Promise.resolve({
        ok: true,
        caller: { kind: "token", namespace: m[1] ?? "", serviceAccount: m[2] ?? "" },
      });
    },
  };
}
