/**
 * Runs a snippet of JavaScript against the built package in a separate node process, optionally
 * with capabilities dropped (setpriv), for the cases a test process cannot reach in itself:
 * missing privileges, an inherited fd, a disabled pidfd path.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";

export const REPO = join(__dirname, "..", "..");
const DIST = join(REPO, "dist", "index.js");

/** Builds dist/ if it is missing (npm test builds first; a lone vitest run may not have). */
export function ensureBuilt(): void {
  if (!existsSync(DIST)) execFileSync("npx", ["tsc", "-p", "tsconfig.build.json"], { cwd: REPO });
}

export interface NodeRun {
  status: number | null;
  stdout: string;
  stderr: string;
  /** The snippet's result: whatever it passed to `done(value)`, parsed from JSON. */
  result: unknown;
}

export interface NodeRunOptions {
  /** Capabilities to drop from the bounding and inheritable sets, e.g. ["sys_admin"]. */
  dropCaps?: string[];
  env?: Record<string, string>;
  /** A shell prefix run before node, e.g. "exec 7</dev/null;". */
  shellPrefix?: string;
}

/**
 * Runs `body` as the body of an async function with `lib` (the package) and `done(value)` in
 * scope; returns what it reported.
 */
export function runNode(body: string, options: NodeRunOptions = {}): NodeRun {
  ensureBuilt();
  const script = `
const lib = require(${JSON.stringify(DIST)});
const done = (v) => { process.stdout.write("\\n@@RESULT@@" + JSON.stringify(v) + "\\n"); };
(async () => { ${body} })().catch((e) => { done({ thrown: { message: e.message, code: e.code, errno: e.errno, syscall: e.syscall, path: e.path } }); });
`;
  let argv = [process.execPath, "-e", script];
  if (options.dropCaps?.length) {
    const caps = options.dropCaps.map((c) => `-${c}`).join(",");
    argv = ["setpriv", `--inh-caps=${caps}`, `--bounding-set=${caps}`, ...argv];
  }
  const quoted = argv.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(" ");
  // Under test:asan the node subprocess loads the sanitized addon: it needs the runtime first.
  const preload = process.env.NSENTER_ASAN_PRELOAD
    ? { LD_PRELOAD: process.env.NSENTER_ASAN_PRELOAD }
    : {};
  const r = spawnSync("sh", ["-c", `${options.shellPrefix ?? ""} exec ${quoted}`], {
    encoding: "utf8",
    env: { ...process.env, ...preload, ...options.env },
    timeout: 60_000,
  });
  const m = /@@RESULT@@(.*)\n/.exec(r.stdout ?? "");
  return {
    status: r.status,
    stdout: r.stdout,
    stderr: r.stderr,
    result: m ? JSON.parse(m[1]!) : undefined,
  };
}
