// Whether a uid/gid can read the checkout the container commands run from (they are
// `node --import tsx <repo file>`): a checkout under /root (0700) cannot be read by uid 1337.
// Checked once per identity by running `test` under that identity, so ACLs and groups count.
import { execFile } from "node:child_process";
import { join } from "node:path";

export interface RepoAccess {
  canRead(uid: number, gid: number, groups: readonly number[]): Promise<boolean>;
}

export function repoAccess(repoRoot: string): RepoAccess {
  const known = new Map<string, Promise<boolean>>();
  return {
    canRead(uid, gid, groups) {
      if (uid === 0) return Promise.resolve(true);
      const key = `${uid}:${gid}:${groups.join(",")}`;
      let result = known.get(key);
      if (result === undefined) {
        result = check(repoRoot, uid, gid, groups);
        known.set(key, result);
      }
      return result;
    },
  };
}

function check(
  repoRoot: string,
  uid: number,
  gid: number,
  groups: readonly number[],
): Promise<boolean> {
  const idArgs = ["--reuid", String(uid), "--regid", String(gid)];
  idArgs.push(...(groups.length === 0 ? ["--clear-groups"] : ["--groups", groups.join(",")]));
  const script =
    'test -r "$1/package.json" && test -r "$2/package.json" && ls "$2/dist" >/dev/null';
  return new Promise((resolve) => {
    execFile(
      "setpriv",
      [...idArgs, "--", "sh", "-c", script, "sh", repoRoot, join(repoRoot, "node_modules", "tsx")],
      (err) => {
        resolve(err === null);
      },
    );
  });
}
