import { Socket } from "node:net";
import { constants } from "node:os";
import { invalidArgValue, systemError } from "../errors";
import type { NativeBinding } from "../native";
import { signalName } from "./exit-error";
import {
  DEFAULT_PATH,
  pathCandidates,
  pathOf,
  type ExitStatus,
  type LaunchedChild,
  type Launcher,
  type LaunchSpec,
} from "./launcher";

/** A namespace to join: its file and its CLONE_NEW* type. */
export interface NamespaceTarget {
  readonly path: string;
  readonly type: number;
}

/** CLONE_NEW* values (linux/sched.h), for {@link NamespaceTarget.type}. */
export const CLONE_NEW = {
  mnt: 0x00020000,
  uts: 0x04000000,
  ipc: 0x08000000,
  user: 0x10000000,
  pid: 0x20000000,
  net: 0x40000000,
  cgroup: 0x02000000,
  time: 0x00000080,
} as const;

const STDIO_NULL = 0;
const STDIO_PIPE = 1;
const STDIO_SHARE_STDOUT = 2;

/**
 * Starts children with the addon: clone(CLONE_VM|CLONE_VFORK), setns into each namespace,
 * chdir, dup2, exec — all in the child, so the namespaces are entered without a helper
 * process and the cost does not grow with this process's heap.
 */
export class NativeLauncher implements Launcher {
  readonly name = "native";
  readonly #binding: NativeBinding;
  readonly #namespaces: readonly NamespaceTarget[];

  constructor(binding: NativeBinding, namespaces: readonly NamespaceTarget[]) {
    for (const ns of namespaces) {
      // Joining these takes effect only for the joiner's children (pid), or is refused while
      // the memory is shared with the parent (time: EUSERS); both need a second fork.
      if (ns.type === CLONE_NEW.pid || ns.type === CLONE_NEW.time) {
        throw invalidArgValue(
          "namespaces",
          ns.path,
          "is a pid or time namespace, which the native backend cannot join",
        );
      }
    }
    this.#binding = binding;
    this.#namespaces = namespaces;
  }

  launch(spec: LaunchSpec): Promise<LaunchedChild> {
    let reaped = false;
    let resolveExit!: (status: ExitStatus) => void;
    const exited = new Promise<ExitStatus>((r) => (resolveExit = r));
    const res = this.#binding.spawn(
      {
        candidates: candidates(spec),
        argv: [...spec.argv],
        envp: [...spec.env],
        dir: spec.dir ?? "",
        nsPaths: this.#namespaces.map((n) => n.path),
        nsTypes: this.#namespaces.map((n) => n.type),
        stdio: [
          spec.stdin === "pipe" ? STDIO_PIPE : STDIO_NULL,
          spec.stdout === "pipe" || spec.stderr === "stdout" ? STDIO_PIPE : STDIO_NULL,
          spec.stderr === "stdout"
            ? STDIO_SHARE_STDOUT
            : spec.stderr === "pipe"
              ? STDIO_PIPE
              : STDIO_NULL,
        ],
      },
      (code, signo) => {
        reaped = true;
        resolveExit(
          signo !== 0 ? { code: null, signal: signalName(signo) } : { code, signal: null },
        );
      },
    );
    if (!res.ok) {
      const path =
        res.syscall === "open" || res.syscall === "setns"
          ? this.#namespaces[res.index]?.path
          : res.syscall === "chdir"
            ? (spec.dir ?? undefined)
            : res.syscall === "execve"
              ? spec.file
              : undefined;
      return Promise.reject(systemError(res.errno, res.syscall, path));
    }
    const { child } = res;
    const [fdIn, fdOut, fdErr] = res.fds;
    return Promise.resolve({
      pid: res.pid,
      stdin: fdIn >= 0 ? new Socket({ fd: fdIn, readable: false, writable: true }) : null,
      stdout: fdOut >= 0 ? new Socket({ fd: fdOut, readable: true, writable: false }) : null,
      stderr: fdErr >= 0 ? new Socket({ fd: fdErr, readable: true, writable: false }) : null,
      exited,
      kill(signal) {
        if (!reaped) child.kill(constants.signals[signal]);
      },
    });
  }
}

// PATH from the command's environment, else this process's, else the default.
function candidates(spec: LaunchSpec): string[] {
  return pathCandidates(
    spec.file,
    (pathOf(spec.env) ?? process.env.PATH ?? DEFAULT_PATH).split(":"),
  );
}
