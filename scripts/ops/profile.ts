import fs from "node:fs";
import path from "node:path";

/**
 * The running local profile's connection file. `npm start` (scripts/local.ts) writes it once it listens and removes
 * it when it stops cleanly; the ops CLI reads it when neither flags nor the environment name a target, so a restarted
 * profile (new admin token, new ports) is found without pasting its exports again.
 *
 * Where: `.sst/local-profile.json` under the directory both run in (npm runs scripts from the repository root; .sst/
 * is git-ignored), or LOCAL_PROFILE_FILE. Mode 0600: it holds the admin token.
 */
export interface LocalProfile {
  /** The npm start process: the file is trusted only while it lives. */
  pid: number;
  started_at: string;
  API_URL: string;
  ADMIN_TOKEN: string;
  REDIS_URL?: string;
  QUEUE_URL?: string;
  DLQ_URL?: string;
  ORDERS_TABLE?: string;
  AWS_ENDPOINT_URL_SQS?: string;
  AWS_ENDPOINT_URL_DYNAMODB?: string;
  AWS_REGION?: string;
  /** Only the stand-ins' credentials (they accept any); real AWS credentials are never written here. */
  AWS_ACCESS_KEY_ID?: string;
  AWS_SECRET_ACCESS_KEY?: string;
}

export const PROFILE_FILE_ENV = "LOCAL_PROFILE_FILE";

export function profileFile(env: NodeJS.ProcessEnv, cwd = process.cwd()): string {
  return path.resolve(cwd, env[PROFILE_FILE_ENV] || path.join(".sst", "local-profile.json"));
}

/** Whether a process with this pid exists (EPERM: it does, under another user). */
export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

export type ProfileLookup =
  | { found: LocalProfile; file: string }
  | { stale: string; file: string }
  | { none: true; file: string };

/** The profile in the file if its process is alive; `stale` says why a file there is to be ignored. */
export function readProfile(file: string): ProfileLookup {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch {
    return { none: true, file };
  }
  let profile: Partial<LocalProfile>;
  try {
    profile = JSON.parse(text) as Partial<LocalProfile>;
  } catch {
    return { stale: "it is not valid JSON", file };
  }
  if (typeof profile.API_URL !== "string" || typeof profile.pid !== "number") return { stale: "it has no API_URL or pid", file };
  if (!pidAlive(profile.pid)) return { stale: `the npm start that wrote it (pid ${profile.pid}) is not running any more`, file };
  return { found: profile as LocalProfile, file };
}

/** Write the file whole (a temporary file renamed over it), readable by its owner only. */
export function writeProfile(file: string, profile: LocalProfile): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(profile, null, 2) + "\n", { mode: 0o600 });
  fs.chmodSync(tmp, 0o600); // the mode above is filtered by the umask; 0600 is wanted whatever it is
  fs.renameSync(tmp, file);
}

/** Remove the file if it is this process's (another profile may have written it since). */
export function removeProfile(file: string, pid = process.pid): void {
  try {
    const profile = JSON.parse(fs.readFileSync(file, "utf8")) as Partial<LocalProfile>;
    if (profile.pid === pid) fs.rmSync(file, { force: true });
  } catch {
    // gone already, or not ours to judge
  }
}
