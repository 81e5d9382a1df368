import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";

/** Private typed surface of the addon (native/binding.cc). Primitives in, primitives out. */
export interface NativeSpawnRequest {
  /** Candidate paths to execve, in order (a bare name is expanded over PATH by TypeScript). */
  candidates: string[];
  argv: string[];
  envp: string[];
  /** Working directory, entered after the namespaces are joined; "" for none. */
  dir: string;
  /** Namespace files to open in the parent and join in the child, with their CLONE_NEW* type. */
  nsPaths: string[];
  nsTypes: number[];
  /** Per stdio fd: 0 = /dev/null, 1 = a new pipe, 2 = share stdout's pipe (stderr only). */
  stdio: [number, number, number];
}

export interface NativeChild {
  /** Sends a signal through the pidfd (or by pid while not yet reaped); returns 0 or -errno. */
  kill(signo: number): number;
}

export type NativeSpawnResult =
  | {
      ok: true;
      pid: number;
      /** Parent ends of the pipes, -1 where no pipe was asked for. */
      fds: [number, number, number];
      child: NativeChild;
    }
  | { ok: false; errno: number; syscall: string; index: number };

export interface NativeBinding {
  spawn(
    req: NativeSpawnRequest,
    onExit: (exitCode: number, signo: number) => void,
  ): NativeSpawnResult;
  /** What the running kernel offered at load time ("pidfd", "clone3", ...). */
  features(): { pidfd: boolean; closeRange: boolean };
}

let binding: NativeBinding | null = null;
let reason: string | null = null;
let loaded = false;

const root = join(__dirname, "..");
// The addon is loaded at run time by path; `require` is what loads .node files.
const nodeRequire = createRequire(__filename);

function load(): void {
  loaded = true;
  if (process.platform !== "linux") {
    reason = `the native backend needs Linux (this is ${process.platform})`;
    return;
  }
  if (process.env.NODE_NSENTER_NATIVE === "0") {
    reason = "disabled by NODE_NSENTER_NATIVE=0";
    return;
  }
  try {
    const explicit = process.env.NODE_NSENTER_ADDON;
    binding = (
      explicit
        ? nodeRequire(explicit)
        : nodeRequire("bindings")({ bindings: "nsenter_native", module_root: root })
    ) as NativeBinding;
  } catch (e) {
    const buildLog = join(root, "build", "native-unavailable.txt");
    const why = existsSync(buildLog) ? readFileSync(buildLog, "utf8").trim() : null;
    const message = firstLine((e as Error).message);
    const notBuilt = /Could not locate the bindings file|Cannot find module/.test(message);
    const explicit = process.env.NODE_NSENTER_ADDON;
    reason = explicit
      ? `NODE_NSENTER_ADDON=${explicit} could not be loaded (${message})`
      : (why ??
        (notBuilt
          ? `the addon is not built (no nsenter_native.node in ${join(root, "build")}); install scripts may have been skipped: run "npm rebuild node-nsenter"`
          : `the addon failed to load (${message}); rebuild it for this Node.js: run "npm rebuild node-nsenter"`));
  }
}

function firstLine(s: string): string {
  return s.split("\n")[0] ?? s;
}

/** The addon, or null when it cannot be used (see {@link nativeUnavailableReason}). */
export function nativeBinding(): NativeBinding | null {
  if (!loaded) load();
  return binding;
}

/** True when the native backend can be used in this process. */
export function nativeAvailable(): boolean {
  return nativeBinding() !== null;
}

/** Why the native backend is off (no compiler at install, scripts skipped, ...), or null. */
export function nativeUnavailableReason(): string | null {
  if (!loaded) load();
  return reason;
}
