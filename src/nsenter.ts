import { mkdirSync, statSync, symlinkSync } from "node:fs";
import { posix } from "node:path";
import { codeFromStrerror, invalidArgType, invalidArgValue, systemErrorFromCode } from "./errors";
import { Cmd, type CmdOptions } from "./exec/cmd";
import { Exec, lookPathIn, newExec, type CmdLike, type Interface } from "./exec/index";
import { isExitError } from "./exec/exit-error";
import { DEFAULT_PATH, type Launcher } from "./exec/launcher";
import { CLONE_NEW, NativeLauncher } from "./exec/native-launcher";
import { NsenterBinaryLauncher } from "./exec/nsenter-binary";
import { nativeBinding, nativeUnavailableReason } from "./native";

/** Go's `DefaultHostRootFsPath`: where a containerised agent sees the host's root. */
export const DEFAULT_HOST_ROOTFS_PATH = "/rootfs";

// The mount namespace entered, relative to the host root: PID 1's, as in Go.
const MOUNT_NS_PATH = "/proc/1/ns/mnt";
const NSENTER_PATH = "nsenter";
// Searched under the root at construction, in Go's order; systemd-run alone is optional.
const BINARIES = [
  "mount",
  "findmnt",
  "umount",
  "systemd-run",
  "stat",
  "touch",
  "mkdir",
  "sh",
  "chmod",
  "realpath",
];
const BINARY_DIRS = ["/", "/bin", "/usr/sbin", "/usr/bin"];

export type Backend = "native" | "binary";

export interface NsenterOptions {
  /**
   * "auto" (default): native when the addon loaded and no custom executor was given, else the
   * nsenter binary through the executor. "native" or "binary" force one.
   */
  backend?: "auto" | Backend;
  /** The nsenter program for the binary backend (default "nsenter", searched on PATH). */
  nsenterPath?: string;
  /** Milliseconds between stop()'s SIGTERM and SIGKILL (default 10 s). */
  stopGracePeriodMs?: number;
}

/**
 * Go's `filepath.Join`: joins the non-empty elements and cleans the result ("" when all are
 * empty), so `("/rootfs/", "//some/path")` is "/rootfs/some/path".
 */
export function goJoin(...elems: string[]): string {
  const parts = elems.filter((e) => e !== "");
  if (parts.length === 0) return "";
  const cleaned = posix.normalize(parts.join("/"));
  return cleaned.length > 1 && cleaned.endsWith("/") ? cleaned.slice(0, -1) : cleaned;
}

/**
 * Runs commands in the host's mount namespace (`<root>/proc/1/ns/mnt`): k8s.io/utils/nsenter's
 * `Nsenter`, with a native backend that needs no nsenter binary.
 */
export class NSEnter {
  /** Which backend runs the commands. */
  readonly backend: Backend;
  readonly hostRootFsPath: string;
  readonly #paths = new Map<string, string>();
  readonly #executor: Interface | null;
  readonly #launcher: Launcher | null;
  readonly #options: NsenterOptions;

  /** Use {@link newNsenter}. */
  constructor(
    hostRootFsPath: string,
    executor: Interface | undefined,
    options: NsenterOptions = {},
  ) {
    if (typeof hostRootFsPath !== "string") {
      throw invalidArgValue("hostRootFsPath", hostRootFsPath, "must be a string");
    }
    this.hostRootFsPath = hostRootFsPath;
    this.#options = options;
    this.#initPaths();

    const wanted = options.backend ?? "auto";
    if (wanted !== "auto" && wanted !== "native" && wanted !== "binary") {
      throw invalidArgValue("options.backend", wanted, 'must be "auto", "native" or "binary"');
    }
    const custom = executor !== undefined && !(executor instanceof Exec);
    const binding = nativeBinding();
    if (wanted === "native" || (wanted === "auto" && !custom && binding)) {
      if (!binding) {
        const err = new Error(
          `native backend unavailable: ${nativeUnavailableReason()}`,
        ) as Error & {
          code: string;
        };
        err.code = "ERR_NSENTER_NATIVE_UNAVAILABLE";
        throw err;
      }
      this.backend = "native";
      this.#executor = null;
      this.#launcher = new NativeLauncher(binding, [
        { path: this.mountNsPath, type: CLONE_NEW.mnt },
      ]);
    } else {
      this.backend = "binary";
      this.#executor = custom ? executor : null;
      this.#launcher = custom
        ? null
        : new NsenterBinaryLauncher(
            {
              nsenterPath: options.nsenterPath ?? NSENTER_PATH,
              mountNsPath: this.mountNsPath,
              shPath: this.absHostPath("sh"),
            },
            binding ? new NativeLauncher(binding, []) : undefined,
          );
    }
  }

  /** The namespace file entered: `<root>/proc/1/ns/mnt`. */
  get mountNsPath(): string {
    return goJoin(this.hostRootFsPath, MOUNT_NS_PATH);
  }

  #initPaths(): void {
    for (const binary of BINARIES) {
      for (const dir of BINARY_DIRS) {
        const binPath = goJoin(dir, binary);
        try {
          statSync(goJoin(this.hostRootFsPath, binPath));
        } catch {
          continue;
        }
        this.#paths.set(binary, binPath);
        break;
      }
      if (!this.#paths.has(binary) && binary !== "systemd-run") {
        throw new Error(`unable to find ${binary}`);
      }
    }
  }

  /** Go's `Exec(cmd, args)`: a command run in the host's mount namespace. */
  exec(cmd: string, args: readonly string[] = []): CmdLike {
    if (!Array.isArray(args)) throw invalidArgType("args", "an array of strings", args);
    return this.#command(undefined, cmd, args);
  }

  /** Go's `Command(cmd, args...)`. */
  command(cmd: string, ...args: string[]): CmdLike {
    return this.#command(undefined, cmd, args);
  }

  /** Go's `CommandContext`: aborting `signal` kills the command (SIGKILL). */
  commandContext(signal: AbortSignal, cmd: string, ...args: string[]): CmdLike {
    return this.#command(signal, cmd, args);
  }

  #command(signal: AbortSignal | undefined, cmd: string, args: readonly string[]): CmdLike {
    if (typeof cmd !== "string") throw invalidArgType("cmd", "of type string", cmd);
    args.forEach((a, i) => {
      if (typeof a !== "string") throw invalidArgType(`args[${i}]`, "of type string", a);
    });
    const abs = this.absHostPath(cmd);
    if (this.#executor) {
      // Go's exact argv, so a FakeExec sees what it would see under Go.
      const full = [`--mount=${this.mountNsPath}`, "--", abs, ...args];
      const nsenter = this.#options.nsenterPath ?? NSENTER_PATH;
      return signal
        ? this.#executor.commandContext(signal, nsenter, ...full)
        : this.#executor.command(nsenter, ...full);
    }
    const options: CmdOptions = {};
    if (signal) options.signal = signal;
    if (this.#options.stopGracePeriodMs !== undefined) {
      options.stopGracePeriodMs = this.#options.stopGracePeriodMs;
    }
    return new Cmd(this.#launcher!, abs, args, options);
  }

  /**
   * Finds an executable on the host: searches the standard PATH directories under the host
   * root, skipping anything that is not an executable regular file. (Go: "not implemented".)
   */
  lookPath(file: string): Promise<string> {
    return lookPathIn(file, DEFAULT_PATH.split(":"), async (p) => goJoin(this.hostRootFsPath, p));
  }

  /** Where a tool found at construction lives on the host, or the name unchanged. */
  absHostPath(command: string): string {
    return this.#paths.get(command) ?? command;
  }

  /** Go's `SupportsSystemd`: systemd-run's host path and whether it exists. */
  supportsSystemd(): [string, boolean] {
    const p = this.#paths.get("systemd-run") ?? "";
    return [p, p !== ""];
  }

  /**
   * The path on the host after resolving symlinks on the host (`realpath -e`, or `-m` when
   * `mustExist` is false). Errors carry the code realpath met: ENOENT, ELOOP, EACCES, ENOTDIR.
   */
  async evalSymlinks(pathname: string, mustExist: boolean): Promise<string> {
    if (typeof pathname !== "string") throw invalidArgType("pathname", "of type string", pathname);
    // Go's argv, plus "--" where the path would otherwise read as an option.
    const args = [mustExist ? "-e" : "-m", ...(pathname.startsWith("-") ? ["--"] : []), pathname];
    const cmd = this.exec("realpath", args);
    let out: Buffer;
    try {
      out = await cmd.output();
    } catch (e) {
      throw realpathError(e, pathname);
    }
    return out.toString("utf8").trim();
  }

  /** Go's `KubeletPath`: the host path as this process sees it, under the host root. */
  kubeletPath(pathname: string): string {
    return goJoin(this.hostRootFsPath, pathname);
  }
}

/** Go's type name. */
export type Nsenter = NSEnter;

// realpath's message is `realpath: <path>: <strerror>`; turn it into the code it names.
function realpathError(e: unknown, pathname: string): unknown {
  if (!isExitError(e)) return e;
  const stderr = (e as { stderr?: Buffer }).stderr?.toString("utf8") ?? "";
  const m = /: ([^:\n]+)\n?$/.exec(stderr.trim());
  const code = (m?.[1] && codeFromStrerror(m[1])) || "EIO";
  const err = systemErrorFromCode(code, "realpath", pathname);
  err.cause = e;
  return err;
}

/**
 * Go's `NewNsenter`: finds the host tools under `hostRootFsPath` (throws `unable to find <tool>`)
 * and picks a backend (see {@link NsenterOptions.backend}).
 */
export function newNsenter(
  hostRootFsPath: string = DEFAULT_HOST_ROOTFS_PATH,
  executor?: Interface,
  options?: NsenterOptions,
): NSEnter {
  return new NSEnter(hostRootFsPath, executor, options);
}

/**
 * Go's `NewFakeNsenter`: prepares `rootfsPath` (bin→/bin, usr/, usr/bin→/usr/bin,
 * usr/sbin→/usr/sbin) and returns an NSEnter that runs commands directly, in the caller's
 * namespaces — for unit tests of code that takes an NSEnter.
 */
export function newFakeNsenter(rootfsPath: string): NSEnter {
  symlinkSync("/bin", goJoin(rootfsPath, "bin"));
  const usr = goJoin(rootfsPath, "usr");
  mkdirSync(usr, 0o755);
  symlinkSync("/usr/bin", goJoin(usr, "bin"));
  symlinkSync("/usr/sbin", goJoin(usr, "sbin"));
  return new NSEnter(rootfsPath, new FakeNsenterExec());
}

// Drops nsenter's own arguments (`--mount=...`, `--`) and runs the rest directly.
class FakeNsenterExec implements Interface {
  readonly #exec = newExec();

  command(_cmd: string, ...args: string[]): CmdLike {
    return this.#exec.command(args[2]!, ...args.slice(3));
  }

  commandContext(signal: AbortSignal, _cmd: string, ...args: string[]): CmdLike {
    return this.#exec.commandContext(signal, args[2]!, ...args.slice(3));
  }

  lookPath(file: string): Promise<string> {
    return this.#exec.lookPath(file);
  }
}
