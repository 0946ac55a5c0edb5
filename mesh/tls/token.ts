// Call credentials from the projected service-account token: the file is reread at every call,
// since the kubelet rotates it, and sent as `authorization: Bearer <token>`.
import { readFile } from "node:fs/promises";
import * as grpc from "@grpc/grpc-js";
import { VireoError } from "../../src/common/errors.js";

export async function readToken(file: string): Promise<string> {
  const token = (await readFile(file, "utf8")).trim();
  if (token === "")
    throw new VireoError("BadConfig", `service-account token file ${file} is empty`);
  return token;
}

export function bearerCallCredentials(tokenFile: string): grpc.CallCredentials {
  return grpc.credentials.createFromMetadataGenerator((_params, callback) => {
    readToken(tokenFile).then(
      (token) => {
        const md = new grpc.Metadata();
        md.set("authorization", `Bearer ${token}`);
        callback(null, md);
      },
      (err: unknown) => {
        callback(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}

/** TLS to the control plane, verified against the mounted root, with the token on every call. */
export function controlPlaneCredentials(
  rootPem: string,
  tokenFile: string,
): grpc.ChannelCredentials {
  return grpc.credentials.combineChannelCredentials(
    grpc.credentials.createSsl(Buffer.from(rootPem)),
    bearerCallCredentials(tokenFile),
  );
}

/**
 * The service account a projected token names in its `sub` (`system:serviceaccount:<ns>:<sa>`),
 * read without verification: only to ask the CA for the identity it will grant anyway.
 */
export function serviceAccountOfToken(
  token: string,
): { namespace: string; serviceAccount: string } | undefined {
  const payload = token.split(".")[1];
  if (payload === undefined) return undefined;
  try {
    const claims = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as unknown;
    const sub =
      claims !== null && typeof claims === "object" ? (claims as { sub?: unknown }).sub : undefined;
    const m = typeof sub === "string" ? /^system:serviceaccount:([^:]+):([^:]+)$/.exec(sub) : null;
    return m?.[1] === undefined || m[2] === undefined
      ? undefined
      : { namespace: m[1], serviceAccount: m[2] };
  } catch {
    return undefined;
  }
}
