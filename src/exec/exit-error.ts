import { constants } from "node:os";

// Go's text for each signal (syscall.Signal.String on Linux), so messages read as Go's do:
// "signal: killed", "signal: terminated".
const GO_SIGNAL_TEXT: Record<string, string> = {
  SIGHUP: "hangup",
  SIGINT: "interrupt",
  SIGQUIT: "quit",
  SIGILL: "illegal instruction",
  SIGTRAP: "trace/breakpoint trap",
  SIGABRT: "aborted",
  SIGBUS: "bus error",
  SIGFPE: "floating point exception",
  SIGKILL: "killed",
  SIGUSR1: "user defined signal 1",
  SIGSEGV: "segmentation fault",
  SIGUSR2: "user defined signal 2",
  SIGPIPE: "broken pipe",
  SIGALRM: "alarm clock",
  SIGTERM: "terminated",
  SIGSTKFLT: "stack fault",
  SIGCHLD: "child exited",
  SIGCONT: "continued",
  SIGSTOP: "stopped (signal)",
  SIGTSTP: "stopped",
  SIGTTIN: "stopped (tty input)",
  SIGTTOU: "stopped (tty output)",
  SIGURG: "urgent I/O condition",
  SIGXCPU: "CPU time limit exceeded",
  SIGXFSZ: "file size limit exceeded",
  SIGVTALRM: "virtual timer expired",
  SIGPROF: "profiling timer expired",
  SIGWINCH: "window changed",
  SIGIO: "I/O possible",
  SIGPWR: "power failure",
  SIGSYS: "bad system call",
};

// Go prints unnamed signals (the realtime ones) as "signal 34".
function goSignalText(signal: string): string {
  const unnamed = /^SIG(\d+)$/.exec(signal);
  return unnamed ? `signal ${unnamed[1]}` : (GO_SIGNAL_TEXT[signal] ?? signal);
}

/** Name ("SIGKILL") of a signal number, or `SIG<n>` for one Node does not name. */
export function signalName(signo: number): NodeJS.Signals {
  for (const [name, value] of Object.entries(constants.signals)) {
    if (value === signo) return name as NodeJS.Signals;
  }
  return `SIG${signo}` as NodeJS.Signals;
}

/**
 * The k8s.io/utils/exec `ExitError` interface: what every "the command ran and failed" error
 * offers, the real one ({@link ExitError}) and test doubles ({@link CodeExitError},
 * `FakeExitError`).
 */
export interface ExitErrorLike extends Error {
  exitStatus(): number;
  exited(): boolean;
}

/**
 * The command ran and ended unsuccessfully: a non-zero exit status, or a signal.
 * Go's `*exec.ExitError` wrapped as k8s' `ExitErrorWrapper`.
 */
export class ExitError extends Error implements ExitErrorLike {
  override readonly name = "ExitError";
  /** Exit code, or null when a signal ended the command. */
  readonly exitCode: number | null;
  /** Signal that ended the command ("SIGTERM"), or null when it exited. */
  readonly signal: NodeJS.Signals | null;
  /** Standard error, filled by `output()` when no stderr was set (head and tail if large). */
  stderr: Buffer;
  /**
   * What `output()` (stdout) or `combinedOutput()` (both streams) collected before the command
   * failed: Go returns it beside the error.
   */
  output: Buffer = Buffer.alloc(0);

  constructor(exitCode: number | null, signal: NodeJS.Signals | null, stderr?: Buffer) {
    super(signal !== null ? `signal: ${goSignalText(signal)}` : `exit status ${exitCode ?? -1}`);
    this.exitCode = signal !== null ? null : exitCode;
    this.signal = signal;
    this.stderr = stderr ?? Buffer.alloc(0);
  }

  /** The exit code; -1 when the command was ended by a signal (Go's WaitStatus). */
  exitStatus(): number {
    return this.exitCode ?? -1;
  }

  /** True when the command exited by itself rather than by a signal. */
  exited(): boolean {
    return this.signal === null;
  }

  override toString(): string {
    return this.message;
  }
}

/** k8s' `CodeExitError`: an error paired with an exit code, for code that fakes exits. */
export class CodeExitError extends Error implements ExitErrorLike {
  override readonly name = "CodeExitError";
  readonly err: Error;
  readonly code: number;

  constructor(err: Error, code: number) {
    super(err.message, { cause: err });
    this.err = err;
    this.code = code;
  }

  exitStatus(): number {
    return this.code;
  }

  exited(): boolean {
    return true;
  }

  override toString(): string {
    return this.message;
  }
}

/** True for anything implementing the ExitError interface (real or fake). */
export function isExitError(err: unknown): err is ExitErrorLike {
  return (
    err instanceof Error &&
    typeof (err as Partial<ExitErrorLike>).exitStatus === "function" &&
    typeof (err as Partial<ExitErrorLike>).exited === "function"
  );
}
