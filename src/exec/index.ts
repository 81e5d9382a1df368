import { constants } from "node:fs";
import { access, stat } from "node:fs/promises";
import { delimiter } from "node:path";
import { systemErrorFromCode, type SystemError } from "../errors";
import { ChildProcessLauncher } from "./child-process";
import { Cmd, type CmdOptions } from "./cmd";
import { DEFAULT_PATH, pathCandidates, type Launcher } from "./launcher";

export { Cmd, DEFAULT_STOP_GRACE_MS, type CmdOptions } from "./cmd";
export { CodeExitError, ExitError, isExitError, type ExitErrorLike } from "./exit-error";
export type { ExitStatus, LaunchedChild, Launcher, LaunchSpec } from "./launcher";

/**
 * What `Cmd` is to callers: the k8s.io/utils/exec `Cmd` interface. {@link Cmd} implements it;
 * so does the testing package's `FakeCmd`.
 */
export interface CmdLike {
  /** Process id once started (Go's `cmd.Process.Pid`); fakes may leave it undefined. */
  readonly pid?: number | undefined;
  run(): Promise<void>;
  output(): Promise<Buffer>;
  combinedOutput(): Promise<Buffer>;
  start(): Promise<void>;
  wait(): Promise<void>;
  stop(): void;
  setDir(dir: string): void;
  setEnv(env: readonly string[]): void;
  setStdin(stdin: import("node:stream").Readable | Buffer | Uint8Array | string): void;
  setStdout(stdout: import("node:stream").Writable): void;
  setStderr(stderr: import("node:stream").Writable): void;
  stdoutPipe(): import("node:stream").Readable;
  stderrPipe(): import("node:stream").Readable;
}

/** k8s.io/utils/exec `Interface`: what code that runs commands should accept, for testing. */
export interface Interface {
  command(cmd: string, ...args: string[]): CmdLike;
  commandContext(signal: AbortSignal, cmd: string, ...args: string[]): CmdLike;
  lookPath(file: string): Promise<string>;
}

export interface ExecOptions {
  /** Milliseconds between stop()'s SIGTERM and SIGKILL (default 10 s). */
  stopGracePeriodMs?: number;
}

/** The real executor, Go's `exec.New()`: commands run in the caller's namespaces. */
export class Exec implements Interface {
  readonly #launcher: Launcher;
  readonly #options: ExecOptions;

  constructor(options: ExecOptions = {}, launcher: Launcher = new ChildProcessLauncher()) {
    this.#launcher = launcher;
    this.#options = options;
  }

  command(cmd: string, ...args: string[]): Cmd {
    return new Cmd(this.#launcher, cmd, args, this.#cmdOptions());
  }

  commandContext(signal: AbortSignal, cmd: string, ...args: string[]): Cmd {
    return new Cmd(this.#launcher, cmd, args, this.#cmdOptions(signal));
  }

  /** Searches the caller's PATH like Go's `exec.LookPath`. */
  lookPath(file: string): Promise<string> {
    return lookPathIn(file, (process.env.PATH ?? DEFAULT_PATH).split(delimiter), async (p) => p);
  }

  #cmdOptions(signal?: AbortSignal): CmdOptions {
    return { ...this.#options, ...(signal ? { signal } : {}) };
  }
}

/** Go's `exec.New()`. */
export function newExec(options?: ExecOptions): Exec {
  return new Exec(options);
}

/**
 * True when `err` means "the program could not be found or run" (k8s' ErrExecutableNotFound):
 * a failed lookPath, or a start that failed with ENOENT or EACCES at execve.
 */
export function isExecutableNotFound(err: unknown): boolean {
  const e = err as Partial<SystemError> | null;
  if (!e || typeof e !== "object") return false;
  if (e.code === "ENOENT" && e.syscall === "lookpath") return true;
  return e.syscall === "execve" && (e.code === "ENOENT" || e.code === "EACCES");
}

/**
 * Searches `dirs` for an executable regular file named `file` (or checks `file` itself when it
 * holds a slash). `toReal` maps a path as the target sees it to one this process can stat.
 */
export async function lookPathIn(
  file: string,
  dirs: readonly string[],
  toReal: (p: string) => Promise<string>,
): Promise<string> {
  for (const candidate of pathCandidates(file, dirs)) {
    const real = await toReal(candidate);
    try {
      const st = await stat(real);
      if (!st.isFile()) continue;
      await access(real, constants.X_OK);
      if ((st.mode & 0o111) === 0) continue; // root passes access(X_OK) for any x bit only
      return candidate;
    } catch {
      continue;
    }
  }
  const err = systemErrorFromCode("ENOENT", "lookpath", file);
  err.message = `exec: "${file}": executable file not found in $PATH`;
  return Promise.reject(err);
}
