/**
 * Private mount namespaces and fake host roots for tests (never PID 1's namespaces).
 *
 * A holder process runs in a new mount namespace (`unshare --mount --propagation private`) with
 * a tmpfs mounted on `privateDir`: files there exist only in the target namespace, while the
 * same directory is empty in the caller's. The fake host root has `proc/1/ns/mnt` → the
 * holder's namespace file (and `proc/1/root`), and `bin`, `usr/bin`, `usr/sbin` → this
 * machine's, so NSEnter finds its tools.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from "node:child_process";
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "vitest";

export interface Privileges {
  ok: boolean;
  reason: string;
}

let cached: Privileges | null = null;

/** Root with CAP_SYS_ADMIN and a working `unshare --mount`. */
export function privileges(): Privileges {
  if (cached) return cached;
  if (process.getuid?.() !== 0) return (cached = { ok: false, reason: "not root" });
  const capEff = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync("/proc/self/status", "utf8"))?.[1];
  if (!capEff || (BigInt(`0x${capEff}`) & (1n << 21n)) === 0n) {
    return (cached = { ok: false, reason: "CAP_SYS_ADMIN missing" });
  }
  const r = spawnSync("unshare", ["--mount", "--propagation", "private", "true"], {
    encoding: "utf8",
  });
  if (r.status !== 0) {
    return (cached = {
      ok: false,
      reason: `unshare --mount failed: ${r.stderr || r.error?.message}`,
    });
  }
  return (cached = { ok: true, reason: "" });
}

/**
 * `describe` for suites that need root and CAP_SYS_ADMIN. Without them it skips with the
 * reason in its title, except under CI=true, where it fails.
 */
export function describePrivileged(name: string, fn: () => void): void {
  const p = privileges();
  if (p.ok) {
    describe(name, fn);
  } else if (process.env.CI === "true" || process.env.CI === "1") {
    describe(name, () => {
      it(`needs root with CAP_SYS_ADMIN (${p.reason})`, () => {
        throw new Error(`privileged suite cannot run under CI: ${p.reason}`);
      });
    });
  } else {
    describe.skip(`${name} [skipped: ${p.reason}]`, fn);
  }
}

export interface Target {
  /** The holder process, whose mount namespace is the target. */
  readonly pid: number;
  /** Its namespace file, `/proc/<pid>/ns/mnt`. */
  readonly nsPath: string;
  /** Fake host root for NSEnter: `<root>/proc/1/ns/mnt` is the target. */
  readonly root: string;
  /** A directory that is a private tmpfs in the target and empty in the caller. */
  readonly privateDir: string;
  /** Runs a shell script in the target namespace (with util-linux nsenter); returns stdout. */
  sh(script: string, ...args: string[]): string;
  /** Stops the holder and removes the directories. */
  close(): Promise<void>;
}

export async function makeTarget(): Promise<Target> {
  const base = mkdtempSync(join(tmpdir(), "nsenter-test-"));
  const privateDir = join(base, "private");
  mkdirSync(privateDir);
  const holder: ChildProcess = spawn(
    "unshare",
    [
      "--mount",
      "--propagation",
      "private",
      "sh",
      "-c",
      'mount -t tmpfs -o size=64m tmpfs "$1" && echo ready && exec sleep 100000',
      "holder",
      privateDir,
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  await new Promise<void>((resolve, reject) => {
    let err = "";
    holder.stderr!.on("data", (d: Buffer) => (err += d.toString()));
    holder.stdout!.once("data", () => resolve());
    holder.once("exit", (code) => reject(new Error(`namespace holder exited (${code}): ${err}`)));
  });
  const pid = holder.pid!;
  const nsPath = `/proc/${pid}/ns/mnt`;
  const root = join(base, "root");
  mkdirSync(join(root, "proc", "1", "ns"), { recursive: true });
  symlinkSync(nsPath, join(root, "proc", "1", "ns", "mnt"));
  symlinkSync(`/proc/${pid}/root`, join(root, "proc", "1", "root"));
  symlinkSync("/bin", join(root, "bin"));
  mkdirSync(join(root, "usr"));
  symlinkSync("/usr/bin", join(root, "usr", "bin"));
  symlinkSync("/usr/sbin", join(root, "usr", "sbin"));

  return {
    pid,
    nsPath,
    root,
    privateDir,
    sh(script, ...args) {
      return execFileSync(
        "nsenter",
        [`--mount=${nsPath}`, "--", "sh", "-c", script, "sh", ...args],
        {
          encoding: "utf8",
        },
      );
    },
    async close() {
      if (holder.exitCode === null && holder.signalCode === null) {
        const gone = new Promise((r) => holder.once("exit", r));
        process.kill(pid, "SIGKILL");
        await gone;
      }
      rmSync(base, { recursive: true, force: true });
    },
  };
}

/** Open fds of this process and what they point to. */
export function openFds(): Map<number, string> {
  const out = new Map<number, string>();
  for (const name of readdirSync("/proc/self/fd")) {
    try {
      out.set(Number(name), readlinkSync(`/proc/self/fd/${name}`));
    } catch {
      // the fd readdir itself used
    }
  }
  return out;
}

/** Number of open fds of this process. */
export function fdCount(): number {
  return openFds().size;
}

/** Fds open now that were not open (to the same thing) in `before`. */
export function newFds(before: Map<number, string>): string[] {
  const out: string[] = [];
  for (const [fd, what] of openFds()) if (before.get(fd) !== what) out.push(`${fd} -> ${what}`);
  return out;
}

/** Children of this process as /proc shows them: pid and state (R, S, Z, ...). */
export function childProcesses(): { pid: number; state: string }[] {
  const out: { pid: number; state: string }[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, "utf8");
    } catch {
      continue; // gone meanwhile
    }
    // pid (comm) state ppid ...; comm may hold spaces and parentheses: split at the last ')'.
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (Number(rest[1]) === process.pid) out.push({ pid: Number(name), state: rest[0]! });
  }
  return out;
}

/** Zombie children of this process (state Z in /proc). */
export function zombies(): number[] {
  return childProcesses()
    .filter((c) => c.state === "Z")
    .map((c) => c.pid);
}
