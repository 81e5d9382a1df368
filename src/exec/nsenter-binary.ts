import { accessSync, constants, statSync } from "node:fs";
import { PassThrough, type Readable } from "node:stream";
import { codeFromStrerror, systemErrorFromCode, type SystemError } from "../errors";
import { ChildProcessLauncher, mergeStreams } from "./child-process";
import {
  DEFAULT_PATH,
  pathCandidates,
  type ExitStatus,
  type LaunchedChild,
  type Launcher,
  type LaunchSpec,
} from "./launcher";

export interface NsenterBinaryTarget {
  /** The nsenter program (a bare name is searched on the caller's PATH, as Go does). */
  readonly nsenterPath: string;
  /** Mount namespace file, passed as `--mount=<file>`. */
  readonly mountNsPath: string;
  /** The target's `sh`, used only to enter a working directory inside the namespace. */
  readonly shPath: string;
}

// util-linux nsenter reports its own failures as one stderr line and exit status 1 (open,
// setns) or 126/127 (execvp). The command can exit with the same statuses, so a failure is
// recognised only when the status, the message, and the path in it all match.
interface Failure {
  readonly status: number[];
  readonly syscall: string;
  readonly re: RegExp;
}
const FAILURES: Failure[] = [
  { status: [126, 127], syscall: "execve", re: /^nsenter: failed to execute (.*): (.+)$/ },
  { status: [1], syscall: "open", re: /^nsenter: cannot open (.*): (.+)$/ },
  // Only the mount namespace is ours to join: a command's own `nsenter --net=...` failing
  // must stay that command's exit status.
  {
    status: [1],
    syscall: "setns",
    re: /^nsenter: reassociate to namespace 'ns\/mnt' failed: (.+)$/,
  },
  { status: [1], syscall: "chdir", re: /^nsenter: cannot change directory to (.*): (E[A-Z]+)$/ },
];
// Exit statuses at which nsenter may have failed itself.
const FAILURE_STATUSES = new Set(FAILURES.flatMap((f) => f.status));
const PREFIX = "nsenter: ";
const MAX_LINE = 8192;
const LINE_WAIT_MS = 250;

// Enters `dir` inside the namespace (util-linux's --wd would resolve it in the caller's),
// checks the program the way execvp would, then execs it, so the pid stays the command's.
// Failures are reported in nsenter's own format, so one parser serves both.
const DIR_SCRIPT = [
  'set -f; d=$1; shift; f=$1; e=""',
  // a path over PATH_MAX, or a component over NAME_MAX: what the kernel calls ENAMETOOLONG
  "long() { [ ${#1} -ge 4096 ] && return 0; o=$IFS; IFS=/; for c in $1; do [ ${#c} -gt 255 ] && { IFS=$o; return 0; }; done; IFS=$o; return 1; }",
  'CDPATH= cd -- "$d" 2>/dev/null || { if long "$d"; then e=ENAMETOOLONG; elif [ ! -e "$d" ]; then e=ENOENT; elif [ ! -d "$d" ]; then e=ENOTDIR; else e=EACCES; fi',
  '  printf "nsenter: cannot change directory to %s: %s\\n" "$d" "$e" >&2; exit 1; }',
  "__ENV__",
  'case $f in */*) p=$f ;; *) p=""; o=$IFS; IFS=:; for x in ${PATH-__DEFAULT_PATH__}; do [ -f "${x:-.}/$f" ] && { p="${x:-.}/$f"; [ -x "$p" ] && break; }; done; IFS=$o ;; esac',
  'if long "$f"; then printf "nsenter: failed to execute %s: File name too long\\n" "$f" >&2; exit 126; fi',
  'if [ -z "$p" ] || [ ! -e "$p" ]; then printf "nsenter: failed to execute %s: No such file or directory\\n" "$f" >&2; exit 127; fi',
  'if [ -d "$p" ] || [ ! -x "$p" ]; then printf "nsenter: failed to execute %s: Permission denied\\n" "$f" >&2; exit 126; fi',
  'exec "$@"',
]
  .join("\n")
  .replace("__DEFAULT_PATH__", DEFAULT_PATH);

/** Runs commands through the util-linux `nsenter` binary, mapping its failures to errors. */
export class NsenterBinaryLauncher implements Launcher {
  readonly name = "binary";
  readonly #target: NsenterBinaryTarget;
  readonly #inner: Launcher;
  readonly #nsenter: string;

  /**
   * `inner` starts the nsenter process: the addon (no namespaces) when it loaded — which also
   * reaps children of a terminated worker, which Node's child_process leaves as zombies — else
   * child_process.
   */
  constructor(target: NsenterBinaryTarget, inner?: Launcher) {
    this.#target = target;
    this.#inner = inner ?? new ChildProcessLauncher();
    // Go resolves "nsenter" on this process's PATH, not on the command's environment.
    this.#nsenter = resolveOnPath(target.nsenterPath);
  }

  /** Go's argv: `nsenter --mount=<file> -- <cmd> args...`; with a dir, through the target's sh. */
  argv(spec: Pick<LaunchSpec, "argv" | "env" | "dir">): string[] {
    const head = [this.#target.nsenterPath, `--mount=${this.#target.mountNsPath}`, "--"];
    if (spec.dir === null) return [...head, ...spec.argv];
    const script = DIR_SCRIPT.replace("__ENV__", restoreCwdVars(spec.env));
    return [...head, this.#target.shPath, "-c", script, "nsenter-sh", spec.dir, ...spec.argv];
  }

  // Starts nsenter itself. E2BIG is about the command's arguments: name the command.
  async #launchNsenter(spec: LaunchSpec): Promise<LaunchedChild> {
    try {
      return await this.#inner.launch({
        file: this.#nsenter,
        argv: this.argv(spec),
        env: spec.env,
        dir: null,
        stdin: spec.stdin,
        stdout: spec.stdout === "ignore" && spec.stderr !== "stdout" ? "ignore" : "pipe",
        stderr: "pipe",
      });
    } catch (e) {
      if ((e as SystemError).code === "E2BIG")
        throw systemErrorFromCode("E2BIG", "execve", spec.file);
      throw e;
    }
  }

  async launch(spec: LaunchSpec): Promise<LaunchedChild> {
    const child = await this.#launchNsenter(spec);
    const paths = new Set([spec.file, this.#target.mountNsPath]);
    if (spec.dir !== null) paths.add(spec.dir).add(this.#target.shPath);
    const filter = new FailureFilter(child.exited, { paths, nsPath: this.#target.mountNsPath });
    child.stderr!.pipe(filter.input); // asked for as "pipe" above

    let stdout: Readable | null = child.stdout;
    let stderr: Readable | null = filter.output;
    if (spec.stderr === "stdout") {
      stdout = mergeStreams(child.stdout!, filter.output);
      stderr = null;
    } else if (spec.stderr === "ignore") {
      filter.output.resume();
      stderr = null;
    }
    return {
      pid: child.pid,
      stdin: child.stdin,
      stdout,
      stderr,
      exited: filter.result,
      kill: (signal) => child.kill(signal),
    };
  }
}

/**
 * Passes stderr through unchanged, except that a first line in one of nsenter's failure
 * formats is held back until the exit status is known: if the status matches, the line is
 * dropped and `result` rejects with the mapped error; otherwise the line is released.
 */
class FailureFilter {
  readonly input = new PassThrough();
  readonly output = new PassThrough();
  readonly result: Promise<ExitStatus>;
  #held: Buffer[] = [];
  #deciding = true;
  #lineSeen = false;
  #inputEnded = false;
  #failure: { failure: Failure; error: SystemError } | null = null;

  constructor(exited: Promise<ExitStatus>, known: Known) {
    let wake: () => void = () => {};
    this.input.on("data", (chunk: Buffer) => {
      if (!this.#deciding) {
        this.output.write(chunk);
        return;
      }
      this.#held.push(chunk);
      this.#inspect(known, false);
      if (this.#lineSeen || !this.#deciding) wake();
    });
    this.input.once("end", () => {
      if (this.#deciding) this.#inspect(known, true);
      this.#inputEnded = true;
      if (!this.#deciding) this.#end();
      wake();
    });
    this.result = exited.then(async (status) => {
      const candidate = status.code !== null && FAILURE_STATUSES.has(status.code);
      if (candidate && this.#deciding && !this.#lineSeen && !this.#inputEnded) {
        // nsenter writes its message before it exits, so it is already in the pipe: wait for
        // it briefly, but never for the EOF a surviving grandchild could hold back forever.
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, LINE_WAIT_MS);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
      const f = this.#failure;
      if (f && this.#lineSeen && status.code !== null && f.failure.status.includes(status.code)) {
        this.#held = [];
        this.#deciding = false;
        this.input.resume();
        this.#end();
        throw f.error;
      }
      this.#release();
      if (this.#inputEnded) this.#end();
      return status;
    });
  }

  #inspect(known: Known, atEnd: boolean): void {
    const data = Buffer.concat(this.#held);
    const prefix = data.subarray(0, PREFIX.length).toString("latin1");
    if (!PREFIX.startsWith(prefix) || (prefix.length < PREFIX.length && atEnd)) {
      return this.#passThrough();
    }
    if (prefix.length < PREFIX.length) return;
    const nl = data.indexOf(0x0a);
    if (nl < 0 && !atEnd) {
      if (data.length > MAX_LINE) this.#passThrough();
      return;
    }
    const line = data.subarray(0, nl < 0 ? data.length : nl).toString("utf8");
    this.#lineSeen = true;
    this.#failure = match(line, known);
    if (!this.#failure) return this.#passThrough();
    // Keep holding: the exit status decides.
  }

  #passThrough(): void {
    this.#deciding = false;
    this.#release();
  }

  #end(): void {
    if (!this.output.writableEnded) this.output.end();
  }

  #release(): void {
    for (const c of this.#held) this.output.write(c);
    this.#held = [];
    this.#deciding = false;
  }
}

/** Paths a genuine nsenter failure line can name, and the namespace file for setns ones. */
interface Known {
  readonly paths: Set<string>;
  readonly nsPath: string;
}

function match(line: string, known: Known): { failure: Failure; error: SystemError } | null {
  for (const failure of FAILURES) {
    const m = failure.re.exec(line);
    if (!m) continue;
    const path = failure.syscall === "setns" ? undefined : m[1]!;
    const text = failure.syscall === "setns" ? m[1]! : m[2]!;
    if (path !== undefined && !known.paths.has(path)) return null;
    const code = codeOf(text, failure);
    const error = systemErrorFromCode(code, failure.syscall, path ?? known.nsPath);
    return { failure, error };
  }
  return null;
}

// nsenter's strerror text → code; codes in our own script's messages are passed as they are.
function codeOf(text: string, failure: Failure): string {
  if (/^E[A-Z0-9]+$/.test(text)) return text;
  return codeFromStrerror(text) ?? (failure.syscall === "setns" ? "EINVAL" : "ENOENT");
}

// dash sets PWD and OLDPWD when it changes directory; put the caller's environment back.
function restoreCwdVars(env: readonly string[]): string {
  const lines = ["unset PWD OLDPWD"];
  for (const name of ["PWD", "OLDPWD"]) {
    let value: string | undefined;
    for (const e of env) if (e.startsWith(`${name}=`)) value = e.slice(name.length + 1);
    if (value !== undefined) lines.push(`export ${name}='${value.replace(/'/g, `'\\''`)}'`);
  }
  return lines.join("\n");
}

function resolveOnPath(file: string): string {
  for (const candidate of pathCandidates(file, (process.env.PATH ?? DEFAULT_PATH).split(":"))) {
    try {
      accessSync(candidate, constants.X_OK);
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // keep looking
    }
  }
  return file; // not found: the launch reports ENOENT naming it
}
