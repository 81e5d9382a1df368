import { spawn, type ChildProcess, type StdioOptions } from "node:child_process";
import { statSync } from "node:fs";
import { PassThrough, type Readable } from "node:stream";
import { systemErrorFromCode, type SystemError } from "../errors";
import {
  envObject,
  type ExitStatus,
  type LaunchedChild,
  type Launcher,
  type LaunchSpec,
} from "./launcher";

/**
 * Starts plain commands with Node's `child_process.spawn` (libuv). Used for commands run in
 * the caller's namespaces and, under the binary backend, for the `nsenter` process itself.
 */
export class ChildProcessLauncher implements Launcher {
  readonly name: string = "child_process";

  launch(spec: LaunchSpec): Promise<LaunchedChild> {
    const stdio: StdioOptions = [
      spec.stdin,
      spec.stdout === "ignore" && spec.stderr === "stdout" ? "pipe" : spec.stdout,
      spec.stderr === "stdout" ? "pipe" : spec.stderr,
    ];
    return new Promise((resolve, reject) => {
      let cp: ChildProcess;
      try {
        cp = spawn(spec.file, spec.argv.slice(1), {
          argv0: spec.argv[0],
          env: envObject(spec.env),
          cwd: spec.dir ?? undefined,
          stdio,
        });
      } catch (e) {
        reject(normalizeSpawnError(e, spec));
        return;
      }
      let reaped = false;
      const exited = new Promise<ExitStatus>((res) => {
        cp.once("exit", (code, signal) => {
          reaped = true;
          res({ code, signal });
        });
      });
      cp.once("error", (e) => {
        // 'error' without a pid is a failed spawn; later ones (kill failures) are ignored.
        if (cp.pid === undefined) reject(normalizeSpawnError(e, spec));
      });
      if (cp.pid === undefined) return;

      const stdout = spec.stderr === "stdout" ? mergeStreams(cp.stdout!, cp.stderr!) : cp.stdout;
      resolve({
        pid: cp.pid,
        stdin: cp.stdin,
        stdout,
        stderr: spec.stderr === "stdout" ? null : cp.stderr,
        exited,
        kill(signal) {
          if (!reaped) cp.kill(signal);
        },
      });
    });
  }
}

function normalizeSpawnError(e: unknown, spec: LaunchSpec): Error {
  const err = e as Partial<SystemError>;
  if (typeof err.code === "string" && /^E[A-Z0-9]+$/.test(err.code)) {
    // libuv reports the exec failure of the child as `spawn <file>`; speak of the system call.
    const sysErr = systemErrorFromCode(err.code, "execve", spec.file);
    sysErr.cause = e;
    if (spec.dir !== null) {
      // libuv does not say whether the cwd or the program failed; look at the cwd.
      return checkDir(spec.dir) ?? sysErr;
    }
    return sysErr;
  }
  return e as Error;
}

function checkDir(dir: string): Error | null {
  try {
    const st = statSync(dir);
    if (!st.isDirectory()) return systemErrorFromCode("ENOTDIR", "chdir", dir);
    return null;
  } catch (e) {
    const code = (e as SystemError).code;
    return systemErrorFromCode(typeof code === "string" ? code : "ENOENT", "chdir", dir);
  }
}

/** Two streams merged in arrival order into one, which ends when both have ended. */
export function mergeStreams(a: Readable, b: Readable): Readable {
  const merged = new PassThrough();
  let open = 2;
  for (const s of [a, b]) {
    s.on("data", (d: Buffer) => merged.write(d));
    s.once("end", () => {
      if (--open === 0) merged.end();
    });
  }
  return merged;
}
