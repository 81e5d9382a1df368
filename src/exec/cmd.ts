import { PassThrough, Readable, Writable } from "node:stream";
import { AbortError, invalidArgType, invalidArgValue, usageError } from "../errors";
import { ExitError } from "./exit-error";
import {
  dedupEnv,
  type ExitStatus,
  type LaunchedChild,
  type Launcher,
  type LaunchSpec,
} from "./launcher";

/** Default time `stop()` waits after SIGTERM before it sends SIGKILL (k8s: 10 s). */
export const DEFAULT_STOP_GRACE_MS = 10_000;

// Go's Output() keeps this much of stderr's head and tail for ExitError.stderr.
const STDERR_KEEP = 32 * 1024;

export interface CmdOptions {
  /** Aborting it kills a running command with SIGKILL (Go's CommandContext). */
  signal?: AbortSignal;
  /** Milliseconds between stop()'s SIGTERM and SIGKILL. */
  stopGracePeriodMs?: number;
}

type State = "new" | "starting" | "started" | "failed" | "waited";

/**
 * A command to run, with the semantics of Go's `os/exec.Cmd` as wrapped by
 * `k8s.io/utils/exec`. Configure it with the `set*` methods, then `run()`, `output()`,
 * `combinedOutput()`, or `start()` + `wait()`.
 */
export class Cmd {
  readonly #launcher: Launcher;
  readonly #file: string;
  readonly #args: readonly string[];
  readonly #signal: AbortSignal | undefined;
  readonly #graceMs: number;

  #dir: string | null = null;
  #env: string[] | null = null;
  #stdin: Readable | Buffer | string | null = null;
  #stdout: Writable | null = null;
  #stderr: Writable | null = null;
  #stdoutPipe: PassThrough | null = null;
  #stderrPipe: PassThrough | null = null;
  #combined = false;

  #state: State = "new";
  #child: LaunchedChild | null = null;
  #done: Promise<void> | null = null;
  #exited = false;
  #killTimer: NodeJS.Timeout | null = null;
  #starting: Promise<void> | null = null;
  #stopRequested = false;

  constructor(launcher: Launcher, file: string, args: readonly string[], options: CmdOptions = {}) {
    if (typeof file !== "string") throw invalidArgType("cmd", "of type string", file);
    for (const [i, a] of args.entries()) {
      if (typeof a !== "string") throw invalidArgType(`args[${i}]`, "of type string", a);
    }
    this.#launcher = launcher;
    this.#file = file;
    this.#args = [...args];
    this.#signal = options.signal;
    this.#graceMs = options.stopGracePeriodMs ?? DEFAULT_STOP_GRACE_MS;
  }

  /** Go's `Cmd.Path`: the program as given. */
  get path(): string {
    return this.#file;
  }

  /** Go's `Cmd.Args`: argv, starting with the program. */
  get args(): string[] {
    return [this.#file, ...this.#args];
  }

  /** Process id once started, else undefined. */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** Name of the launcher that runs this command ("native", "binary", "child_process"). */
  get backend(): string {
    return this.#launcher.name;
  }

  setDir(dir: string): void {
    if (typeof dir !== "string") throw invalidArgType("dir", "of type string", dir);
    this.#dir = dir === "" ? null : dir;
  }

  /** Replaces the environment ("KEY=value" strings); `[]` is an empty environment. */
  setEnv(env: readonly string[]): void {
    if (!Array.isArray(env)) throw invalidArgType("env", "an array of strings", env);
    for (const [i, e] of env.entries()) {
      if (typeof e !== "string") throw invalidArgType(`env[${i}]`, "of type string", e);
    }
    this.#env = [...env];
  }

  setStdin(stdin: Readable | Buffer | Uint8Array | string): void {
    if (typeof stdin === "string" || stdin instanceof Readable) this.#stdin = stdin;
    else if (stdin instanceof Uint8Array) this.#stdin = Buffer.from(stdin);
    else throw invalidArgType("stdin", "a Readable, Buffer or string", stdin);
  }

  setStdout(stdout: Writable): void {
    if (!(stdout instanceof Writable)) throw invalidArgType("stdout", "a Writable", stdout);
    this.#stdout = stdout;
  }

  setStderr(stderr: Writable): void {
    if (!(stderr instanceof Writable)) throw invalidArgType("stderr", "a Writable", stderr);
    this.#stderr = stderr;
  }

  /** A stream of the command's stdout; read it fully before `wait()` resolves matters. */
  stdoutPipe(): Readable {
    if (this.#stdout) throw usageError("Stdout already set");
    if (this.#state !== "new") throw usageError("StdoutPipe after process started");
    this.#stdoutPipe = new PassThrough();
    this.#stdout = this.#stdoutPipe;
    return this.#stdoutPipe;
  }

  stderrPipe(): Readable {
    if (this.#stderr) throw usageError("Stderr already set");
    if (this.#state !== "new") throw usageError("StderrPipe after process started");
    this.#stderrPipe = new PassThrough();
    this.#stderr = this.#stderrPipe;
    return this.#stderrPipe;
  }

  /** Starts the command and waits for it: resolves on exit status 0. */
  async run(): Promise<void> {
    await this.start();
    await this.wait();
  }

  /** Runs the command and returns its stdout; on failure the ExitError carries stderr. */
  async output(): Promise<Buffer> {
    if (this.#stdout) throw usageError("Stdout already set");
    const out = collect();
    this.#stdout = out.stream;
    let err: ReturnType<typeof collect> | null = null;
    if (!this.#stderr) {
      err = collect(STDERR_KEEP);
      this.#stderr = err.stream;
    }
    try {
      await this.run();
    } catch (e) {
      if (e instanceof ExitError) {
        if (err) e.stderr = err.result();
        e.output = out.result(); // Go returns (out, err): keep what was printed
      }
      throw e;
    }
    return out.result();
  }

  /** Runs the command and returns stdout and stderr together, in the order they were written. */
  async combinedOutput(): Promise<Buffer> {
    if (this.#stdout) throw usageError("Stdout already set");
    if (this.#stderr) throw usageError("Stderr already set");
    const out = collect();
    this.#stdout = out.stream;
    this.#combined = true;
    try {
      await this.run();
    } catch (e) {
      if (e instanceof ExitError) e.output = out.result(); // Go returns (out, err)
      throw e;
    }
    return out.result();
  }

  /** Starts the command without waiting for it; `wait()` collects its end. */
  start(): Promise<void> {
    if (this.#state !== "new") return Promise.reject(usageError("already started"));
    this.#state = "starting";
    this.#starting = this.#start();
    return this.#starting;
  }

  async #start(): Promise<void> {
    let child: LaunchedChild;
    try {
      if (this.#signal?.aborted) throw abortError(this.#signal);
      child = await this.#launcher.launch(this.#spec());
    } catch (e) {
      this.#state = "failed";
      this.#stdoutPipe?.end();
      this.#stderrPipe?.end();
      throw e;
    }
    this.#child = child;
    this.#state = "started";
    this.#done = this.#supervise(child);
    // wait() may never be called; keep an unobserved failure from becoming an unhandled rejection.
    this.#done.catch(() => {});
    // stop() called while the launch was under way.
    if (this.#stopRequested) this.stop();
  }

  /** Waits for a started command to end and its output to be copied. */
  async wait(): Promise<void> {
    // start() not yet settled (not awaited): wait for it; its failure is wait()'s too.
    if (this.#state === "starting") await this.#starting;
    if (this.#state === "new" || this.#state === "failed") throw usageError("not started");
    if (this.#state === "waited") throw usageError("Wait was already called");
    this.#state = "waited";
    await this.#done;
  }

  /**
   * Asks a running command to end: SIGTERM now, SIGKILL after the grace period if it is still
   * running. A no-op before start and after exit; never throws.
   */
  stop(): void {
    if (this.#state === "starting") {
      this.#stopRequested = true;
      return;
    }
    const child = this.#child;
    if (!child || this.#exited || this.#killTimer) return;
    child.kill("SIGTERM");
    this.#killTimer = setTimeout(() => {
      this.#killTimer = null;
      if (!this.#exited) child.kill("SIGKILL");
    }, this.#graceMs);
  }

  #spec(): LaunchSpec {
    const env = this.#env ? dedupEnv(this.#env) : processEnv();
    const argv = [this.#file, ...this.#args];
    checkNul("cmd", this.#file);
    argv.forEach((a, i) => checkNul(`args[${i}]`, a));
    env.forEach((e, i) => checkNul(`env[${i}]`, e));
    if (this.#dir !== null) checkNul("dir", this.#dir);
    return {
      file: this.#file,
      argv,
      env,
      dir: this.#dir,
      stdin: this.#stdin === null ? "ignore" : "pipe",
      stdout: this.#stdout ? "pipe" : "ignore",
      stderr: this.#combined ? "stdout" : this.#stderr ? "pipe" : "ignore",
    };
  }

  async #supervise(child: LaunchedChild): Promise<void> {
    const signal = this.#signal;
    let aborted = false;
    const onAbort = (): void => {
      aborted = true;
      child.kill("SIGKILL");
    };
    // The signal may have fired while the launch was under way: no event will come for it.
    if (signal?.aborted) onAbort();
    else signal?.addEventListener("abort", onAbort, { once: true });

    const stdinError = this.#feedStdin(child);
    // Settled into values at once: a writer failing before exit must not be unhandled.
    const copies = [
      copyInto(child.stdout, this.#stdout, this.#stdout === this.#stdoutPipe),
      copyInto(child.stderr, this.#stderr, this.#stderr === this.#stderrPipe),
    ].map((p) =>
      p.then(
        () => undefined,
        (e: Error) => e,
      ),
    );

    let status: ExitStatus;
    try {
      status = await child.exited;
    } catch (e) {
      await Promise.all(copies);
      throw e;
    } finally {
      this.#exited = true;
      signal?.removeEventListener("abort", onAbort);
      if (this.#killTimer) clearTimeout(this.#killTimer);
      this.#killTimer = null;
      // Go closes its stdin writer once the process is gone; so do we, quietly.
      child.stdin?.destroy();
    }

    const copyErrors = await Promise.all(copies);
    if (aborted && signal) throw abortError(signal);
    if (status.code !== 0) throw new ExitError(status.code, status.signal);
    // As in Go: a failed copy is reported when the command itself succeeded.
    const copyError = copyErrors[0] ?? copyErrors[1] ?? stdinError.error;
    if (copyError) throw copyError;
  }

  /** Starts copying stdin; `error` is set if the caller's stream fails (EPIPE is not one). */
  #feedStdin(child: LaunchedChild): { error: Error | null } {
    const state: { error: Error | null } = { error: null };
    const sink = child.stdin;
    const source = this.#stdin;
    if (!sink || source === null) return state;
    // The child may exit without reading: EPIPE here is expected, as in Go.
    sink.on("error", () => {});
    if (source instanceof Readable) {
      source.pipe(sink);
      source.once("error", (e) => {
        state.error = e;
        sink.destroy();
      });
    } else {
      sink.end(source);
    }
    return state;
  }
}

function abortError(signal: AbortSignal): AbortError {
  return new AbortError(undefined, { cause: signal.reason });
}

function checkNul(name: string, value: string): void {
  if (value.includes("\0"))
    throw invalidArgValue(name, value, "must be a string without null bytes");
}

function processEnv(): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) out.push(`${k}=${v}`);
  return out;
}

/**
 * Copies a child's stream into the user's writer without ending it (Go does not close the
 * writer), or, for a pipe handed out by stdoutPipe()/stderrPipe(), into that pipe and ends it.
 * Resolves at the source's end; rejects with the writer's error.
 */
function copyInto(
  source: Readable | null,
  target: Writable | null,
  endTarget: boolean,
): Promise<void> {
  if (!source || !target) {
    if (target && endTarget) target.end();
    return Promise.resolve();
  }
  if (endTarget) {
    // A pipe from stdoutPipe()/stderrPipe() is the caller's to read; as in Go, wait() does not
    // wait for it (a grandchild holding the write end would block wait() forever).
    source.pipe(target);
    source.once("error", (e) => target.destroy(e));
    return Promise.resolve();
  }
  return new Promise<void>((resolve, reject) => {
    let settled = false;
    const finish = (err?: Error | null): void => {
      if (settled) return;
      settled = true;
      if (err) {
        source.unpipe(target);
        source.resume(); // keep draining so the child never blocks on a full pipe
        reject(err);
      } else resolve();
    };
    source.pipe(target, { end: false });
    source.once("end", () => finish());
    source.once("close", () => finish());
    source.once("error", (e) => finish(e));
    target.once("error", (e) => finish(e));
  });
}

/** A Writable that keeps what it is given (all of it, or head and tail when `keep` is set). */
function collect(keep?: number): { stream: Writable; result(): Buffer } {
  const head: Buffer[] = [];
  let headLen = 0;
  let tail: Buffer[] = [];
  let tailLen = 0;
  let skipped = 0;
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      if (keep === undefined || headLen < keep) {
        const take = keep === undefined ? chunk : chunk.subarray(0, keep - headLen);
        head.push(take);
        headLen += take.length;
        chunk = chunk.subarray(take.length);
      }
      if (chunk.length > 0 && keep !== undefined) {
        tail.push(chunk);
        tailLen += chunk.length;
        while (tailLen - (tail[0]?.length ?? 0) >= keep) {
          const dropped = tail.shift() as Buffer;
          tailLen -= dropped.length;
          skipped += dropped.length;
        }
      }
      cb();
    },
  });
  return {
    stream,
    result() {
      if (tailLen === 0) return Buffer.concat(head);
      let t = Buffer.concat(tail);
      if (t.length > keep!) {
        skipped += t.length - keep!;
        t = t.subarray(t.length - keep!);
      }
      tail = [t];
      const mid =
        skipped > 0 ? Buffer.from(`\n... omitting ${skipped} bytes ...\n`) : Buffer.alloc(0);
      return Buffer.concat([...head, mid, t]);
    },
  };
}
