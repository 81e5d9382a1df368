/**
 * Test doubles for code that takes an exec {@link Interface}: k8s.io/utils/exec/testing's
 * FakeExec, FakeCmd and FakeExitError. Scripts are lists of actions consumed in order; running
 * out of them is a programming error in the test, reported as Go panics it (an Error here).
 */
import type { Readable, Writable } from "node:stream";
import type { CmdLike, Interface } from "./exec/index";
import type { ExitErrorLike } from "./exec/exit-error";

/** Returns the Cmd for one expected command. */
export type FakeCommandAction = (cmd: string, ...args: string[]) => CmdLike;

/** Result of one scripted run: [stdout, stderr, error]. May be async. */
export type FakeAction = () =>
  | [Buffer | string | null, Buffer | string | null, Error | null]
  | Promise<[Buffer | string | null, Buffer | string | null, Error | null]>;

export interface FakeStdIOPipeResponse {
  readCloser?: Readable;
  error?: Error;
}

export class FakeExec implements Interface {
  commandScript: FakeCommandAction[] = [];
  commandCalls = 0;
  lookPathFunc?: (file: string) => string | Promise<string>;
  /** Check each command's argv against the FakeCmd's `argv` (Go's ExactOrder). */
  exactOrder = false;
  /** Return inert FakeCmds instead of consuming the script. */
  disableScripts = false;

  constructor(
    init: Partial<
      Pick<FakeExec, "commandScript" | "lookPathFunc" | "exactOrder" | "disableScripts">
    > = {},
  ) {
    Object.assign(this, init);
  }

  command(cmd: string, ...args: string[]): CmdLike {
    return this.#next(cmd, args);
  }

  commandContext(_signal: AbortSignal, cmd: string, ...args: string[]): CmdLike {
    return this.#next(cmd, args);
  }

  async lookPath(file: string): Promise<string> {
    if (!this.lookPathFunc) throw new Error(`FakeExec: no lookPathFunc set (looking up ${file})`);
    return this.lookPathFunc(file);
  }

  #next(cmd: string, args: string[]): CmdLike {
    if (this.disableScripts)
      return initFakeCmd(new FakeCmd({ disableScripts: true }), cmd, ...args);
    if (this.commandCalls > this.commandScript.length - 1) {
      throw new Error(
        `ran out of Command() actions. Could not handle command [${this.commandCalls}]: ${cmd} args: ${JSON.stringify(args)}`,
      );
    }
    const action = this.commandScript[this.commandCalls++]!;
    const fakeCmd = action(cmd, ...args);
    if (this.exactOrder) {
      const argv = [cmd, ...args];
      const fc = fakeCmd as FakeCmd;
      if (!(fc instanceof FakeCmd)) throw new Error("exactOrder needs FakeCmd instances");
      if (cmd !== fc.argv[0]) throw new Error(`received command: ${cmd}, expected: ${fc.argv[0]}`);
      if (argv.length !== fc.argv.length) {
        throw new Error(
          `command (${cmd}) received with extra/missing arguments. Expected ${JSON.stringify(fc.argv)}, Received ${JSON.stringify(argv)}`,
        );
      }
      argv.slice(1).forEach((a, i) => {
        if (a !== fc.argv[i + 1]) {
          throw new Error(
            `command (${cmd}) called with unexpected argument. Expected ${fc.argv[i + 1]}, Received ${a}`,
          );
        }
      });
    }
    return fakeCmd;
  }
}

type Script = FakeAction[];

export class FakeCmd implements CmdLike {
  argv: string[] = [];
  combinedOutputScript: Script = [];
  combinedOutputCalls = 0;
  combinedOutputLog: string[][] = [];
  outputScript: Script = [];
  outputCalls = 0;
  outputLog: string[][] = [];
  runScript: Script = [];
  runCalls = 0;
  runLog: string[][] = [];
  dirs: string[] = [];
  stdin: Readable | Buffer | Uint8Array | string | null = null;
  stdout: Writable | null = null;
  stderr: Writable | null = null;
  env: string[] = [];
  stdoutPipeResponse: FakeStdIOPipeResponse = {};
  stderrPipeResponse: FakeStdIOPipeResponse = {};
  waitResponse: Error | null = null;
  startResponse: Error | null = null;
  disableScripts = false;
  stopCalls = 0;

  constructor(init: Partial<FakeCmd> = {}) {
    Object.assign(this, init);
  }

  setDir(dir: string): void {
    this.dirs.push(dir);
  }
  setStdin(stdin: Readable | Buffer | Uint8Array | string): void {
    this.stdin = stdin;
  }
  setStdout(stdout: Writable): void {
    this.stdout = stdout;
  }
  setStderr(stderr: Writable): void {
    this.stderr = stderr;
  }
  setEnv(env: readonly string[]): void {
    this.env = [...env];
  }
  stdoutPipe(): Readable {
    if (this.stdoutPipeResponse.error) throw this.stdoutPipeResponse.error;
    if (!this.stdoutPipeResponse.readCloser) throw new Error("FakeCmd: no stdoutPipeResponse set");
    return this.stdoutPipeResponse.readCloser;
  }
  stderrPipe(): Readable {
    if (this.stderrPipeResponse.error) throw this.stderrPipeResponse.error;
    if (!this.stderrPipeResponse.readCloser) throw new Error("FakeCmd: no stderrPipeResponse set");
    return this.stderrPipeResponse.readCloser;
  }
  async start(): Promise<void> {
    if (this.startResponse) throw this.startResponse;
  }
  async wait(): Promise<void> {
    if (this.waitResponse) throw this.waitResponse;
  }
  stop(): void {
    this.stopCalls++;
  }

  async combinedOutput(): Promise<Buffer> {
    if (this.disableScripts) return Buffer.alloc(0);
    const [out, , err] = await this.#take(
      "CombinedOutput",
      this.combinedOutputScript,
      this.combinedOutputLog,
      this.combinedOutputCalls,
      () => this.combinedOutputCalls++,
    );
    if (err) throw withOutput(err, out);
    return out;
  }

  async output(): Promise<Buffer> {
    if (this.disableScripts) return Buffer.alloc(0);
    const [out, , err] = await this.#take(
      "Output",
      this.outputScript,
      this.outputLog,
      this.outputCalls,
      () => this.outputCalls++,
    );
    if (err) throw withOutput(err, out);
    return out;
  }

  async run(): Promise<void> {
    if (this.disableScripts) return;
    const [out, errOut, err] = await this.#take(
      "Run",
      this.runScript,
      this.runLog,
      this.runCalls,
      () => this.runCalls++,
    );
    if (this.stdout) this.stdout.write(out);
    if (this.stderr) this.stderr.write(errOut);
    if (err) throw err;
  }

  async #take(
    name: string,
    script: Script,
    log: string[][],
    call: number,
    count: () => void,
  ): Promise<[Buffer, Buffer, Error | null]> {
    // Go checks before it counts: running out leaves the call counter unchanged.
    if (call > script.length - 1) throw new Error(`ran out of ${name}() actions`);
    count();
    log.push([...this.argv]);
    const [o, e, err] = await script[call]!();
    return [toBuf(o), toBuf(e), err];
  }
}

// Go's fakes return (out, err); the real Cmd attaches the output to its ExitError.
function withOutput(err: Error, out: Buffer): Error {
  if (!("output" in err)) Object.assign(err, { output: out });
  return err;
}

function toBuf(v: Buffer | string | null): Buffer {
  return v === null ? Buffer.alloc(0) : Buffer.isBuffer(v) ? v : Buffer.from(v);
}

/** Go's `InitFakeCmd`: records argv on the FakeCmd and returns it. */
export function initFakeCmd(fake: FakeCmd, cmd: string, ...args: string[]): FakeCmd {
  fake.argv = [cmd, ...args];
  return fake;
}

/** Go's `FakeExitError`: an exit with the given status, message "exit N". */
export class FakeExitError extends Error implements ExitErrorLike {
  override readonly name = "FakeExitError";
  readonly status: number;
  constructor(status: number) {
    super(`exit ${status}`);
    this.status = status;
  }
  exitStatus(): number {
    return this.status;
  }
  exited(): boolean {
    return true;
  }
  override toString(): string {
    return this.message;
  }
}
