import type { Readable, Writable } from "node:stream";

/**
 * The seam between the one {@link Cmd} implementation and the ways of starting a process.
 * A launcher gets a fully resolved spec (no defaults left to fill) and returns a running child;
 * Go's semantics (pipes, copying, waiting, errors of use) live in Cmd alone.
 */
export interface LaunchSpec {
  /** Program as the caller named it: an absolute path, or a bare name searched on PATH. */
  readonly file: string;
  /** Full argv; argv[0] is `file`, as Go passes it. */
  readonly argv: readonly string[];
  /** The complete environment, as "KEY=value" strings. */
  readonly env: readonly string[];
  /** Working directory (in the target namespace where the launcher enters one), or null. */
  readonly dir: string | null;
  readonly stdin: "ignore" | "pipe";
  readonly stdout: "ignore" | "pipe";
  /** "stdout": stderr shares stdout's stream (combinedOutput). */
  readonly stderr: "ignore" | "pipe" | "stdout";
}

/** How a child ended: exactly one of `code` and `signal` is non-null. */
export interface ExitStatus {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface LaunchedChild {
  readonly pid: number;
  readonly stdin: Writable | null;
  readonly stdout: Readable | null;
  readonly stderr: Readable | null;
  /**
   * Settles once the child has been reaped. Rejects only for a start failure that the launcher
   * can learn of at exit alone (the nsenter binary reports its own failures that way).
   */
  readonly exited: Promise<ExitStatus>;
  /** Sends a signal; a no-op once the child has been reaped (never hits a reused pid). */
  kill(signal: NodeJS.Signals): void;
}

export interface Launcher {
  /** "native", "binary" or "child_process": reported by `NSEnter.backend`. */
  readonly name: string;
  /** Starts the child; rejects with a Node-style error when it could not be started. */
  launch(spec: LaunchSpec): Promise<LaunchedChild>;
}

/** PATH used when neither the command's environment nor the process has one (Go's, glibc's). */
export const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/**
 * What execvp tries for `file`: the name itself when it holds a slash, else the name in each
 * directory in turn (an empty entry is the current directory); nothing for an empty name.
 */
export function pathCandidates(file: string, dirs: readonly string[]): string[] {
  if (file.includes("/")) return [file];
  if (file === "") return [];
  return dirs.map((dir) => `${dir === "" ? "." : dir}/${file}`);
}

/** PATH value of an environment list (deduplicated by {@link dedupEnv}), or undefined. */
export function pathOf(env: readonly string[]): string | undefined {
  let value: string | undefined;
  for (const entry of env) if (entry.startsWith("PATH=")) value = entry.slice(5);
  return value;
}

/**
 * Go's dedupEnv: empty entries dropped, a key given twice keeps its last value (in the place of
 * that last occurrence), entries without "=" kept as they are. Both backends then pass the same
 * environment, and programs that read the first match see the value the caller meant.
 */
export function dedupEnv(env: readonly string[]): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (let i = env.length - 1; i >= 0; i--) {
    const entry = env[i]!;
    if (entry === "") continue;
    const eq = entry.indexOf("=", 1);
    if (eq < 0) {
      out.push(entry);
      continue;
    }
    const key = entry.slice(0, eq);
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(entry);
  }
  return out.reverse();
}

/** An environment list as an object, for APIs that take one (later entries win). */
export function envObject(env: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of env) {
    const eq = entry.indexOf("=");
    if (eq <= 0) continue;
    out[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return out;
}
