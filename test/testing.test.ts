// The `testing` entry point (k8s.io/utils/exec/testing): FakeExec, FakeCmd, FakeExitError and
// initFakeCmd, after Go's fake_exec_test.go and the way Kubernetes code drives them.
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough, Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ExitError, isExitError, newExec, newNsenter } from "../src/index";
import type { CmdLike, Interface } from "../src/index";
import {
  FakeCmd,
  FakeExec,
  FakeExitError,
  initFakeCmd,
  type FakeAction,
  type FakeCommandAction,
} from "../src/testing";
import { sink } from "./support/streams";

/** The Kubernetes idiom: every command handed out is `fcmd`, with its argv recorded. */
function returns(fcmd: FakeCmd): FakeCommandAction {
  return (cmd, ...args) => initFakeCmd(fcmd, cmd, ...args);
}

/** A FakeCmd that expects exactly `argv` (for exactOrder). */
function expecting(...argv: string[]): FakeCommandAction {
  return () => new FakeCmd({ argv, combinedOutputScript: [() => [argv.join(" "), null, null]] });
}

const ok =
  (stdout: string, stderr: string | null = null): FakeAction =>
  () => [stdout, stderr, null];
const fail =
  (stdout: string, err: Error): FakeAction =>
  () => [stdout, null, err];

describe("FakeExec + FakeCmd scripts (Go's TestFakeExec)", () => {
  it("CombinedOutput actions are consumed in order, counted and logged", async () => {
    const fcmd = new FakeCmd({
      combinedOutputScript: [ok("pass"), fail("fail", new FakeExitError(1)), ok("third")],
    });
    const fexec = new FakeExec({
      commandScript: [returns(fcmd), returns(fcmd), returns(fcmd)],
    });

    const out = await fexec.command("echo", "pass").combinedOutput();
    expect(out).toBeInstanceOf(Buffer);
    expect(out.toString()).toBe("pass");
    expect(fexec.commandCalls).toBe(1);
    expect(fcmd.combinedOutputCalls).toBe(1);

    const err = await fexec
      .command("ls", "-l", "/nope")
      .combinedOutput()
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect(err).toBeInstanceOf(FakeExitError);
    expect((err as FakeExitError).exitStatus()).toBe(1);
    expect(fexec.commandCalls).toBe(2);
    expect(fcmd.combinedOutputCalls).toBe(2);

    expect((await fexec.command("true").combinedOutput()).toString()).toBe("third");
    expect(fexec.commandCalls).toBe(3);
    expect(fcmd.combinedOutputCalls).toBe(3);
    // Each call logs the argv the command had when it ran.
    expect(fcmd.combinedOutputLog).toEqual([["echo", "pass"], ["ls", "-l", "/nope"], ["true"]]);
    expect(fcmd.outputCalls).toBe(0);
    expect(fcmd.runCalls).toBe(0);
  });

  it("Output actions are consumed in order, counted and logged; stderr is not returned", async () => {
    const fcmd = new FakeCmd({
      outputScript: [ok("out-1", "err-1"), fail("", new FakeExitError(3)), ok("out-3")],
    });
    const fexec = new FakeExec({ commandScript: [returns(fcmd), returns(fcmd), returns(fcmd)] });

    expect((await fexec.command("a", "1").output()).toString()).toBe("out-1");
    await expect(fexec.command("b", "2").output()).rejects.toThrow("exit 3");
    expect((await fexec.command("c").output()).toString()).toBe("out-3");
    expect(fcmd.outputCalls).toBe(3);
    expect(fcmd.outputLog).toEqual([["a", "1"], ["b", "2"], ["c"]]);
    expect(fcmd.combinedOutputCalls).toBe(0);
  });

  it("Run actions are consumed in order, counted and logged", async () => {
    const fcmd = new FakeCmd({ runScript: [ok(""), fail("", new FakeExitError(5))] });
    const fexec = new FakeExec({ commandScript: [returns(fcmd), returns(fcmd)] });

    await expect(fexec.command("mkdir", "-p", "/x").run()).resolves.toBeUndefined();
    await expect(fexec.command("rmdir", "/x").run()).rejects.toThrow(FakeExitError);
    expect(fcmd.runCalls).toBe(2);
    expect(fcmd.runLog).toEqual([
      ["mkdir", "-p", "/x"],
      ["rmdir", "/x"],
    ]);
  });

  it("a log entry is a copy of argv, not a view of it", async () => {
    const fcmd = new FakeCmd({ combinedOutputScript: [ok("x")] });
    const fexec = new FakeExec({ commandScript: [returns(fcmd)] });
    await fexec.command("cmd", "arg").combinedOutput();
    fcmd.argv.push("later");
    expect(fcmd.combinedOutputLog).toEqual([["cmd", "arg"]]);
  });

  it("actions may be async and may return Buffers", async () => {
    const fcmd = new FakeCmd({
      combinedOutputScript: [
        async () => {
          await new Promise((r) => setTimeout(r, 5));
          return [Buffer.from([0x00, 0xff, 0x10]), null, null];
        },
      ],
    });
    const out = await new FakeExec({ commandScript: [returns(fcmd)] })
      .command("bin")
      .combinedOutput();
    expect([...out]).toEqual([0x00, 0xff, 0x10]);
  });

  it("a null stdout from an action is an empty Buffer", async () => {
    const fcmd = new FakeCmd({ outputScript: [() => [null, null, null]] });
    const out = await new FakeExec({ commandScript: [returns(fcmd)] }).command("x").output();
    expect(out).toBeInstanceOf(Buffer);
    expect(out.length).toBe(0);
  });

  it("commandContext consumes the same script as command", async () => {
    const first = new FakeCmd({ combinedOutputScript: [ok("one")] });
    const second = new FakeCmd({ combinedOutputScript: [ok("two")] });
    const fexec = new FakeExec({ commandScript: [returns(first), returns(second)] });
    const ac = new AbortController();
    const c1 = fexec.commandContext(ac.signal, "ctx", "a");
    const c2 = fexec.command("plain", "b");
    expect(c1).toBe(first);
    expect(c2).toBe(second);
    expect(first.argv).toEqual(["ctx", "a"]);
    expect(second.argv).toEqual(["plain", "b"]);
    expect((await c1.combinedOutput()).toString()).toBe("one");
    expect((await c2.combinedOutput()).toString()).toBe("two");
    expect(fexec.commandCalls).toBe(2);
  });
});

describe("running out of actions", () => {
  it("Command(): throws with the call number, command and args", () => {
    const fexec = new FakeExec({ commandScript: [returns(new FakeCmd())] });
    fexec.command("first");
    expect(() => fexec.command("mount", "-t", "tmpfs")).toThrow(
      /^ran out of Command\(\) actions\. Could not handle command \[1\]: mount args: .*-t.*tmpfs/,
    );
    expect(fexec.commandCalls).toBe(1);
    // An empty FakeExec has no actions at all.
    expect(() => new FakeExec().commandContext(new AbortController().signal, "ls")).toThrow(
      "ran out of Command() actions. Could not handle command [0]: ls",
    );
  });

  it("CombinedOutput(), Output() and Run() reject with 'ran out of <Name>() actions'", async () => {
    const fcmd = new FakeCmd({
      combinedOutputScript: [ok("c")],
      outputScript: [ok("o")],
      runScript: [ok("r")],
    });
    initFakeCmd(fcmd, "tool");
    await fcmd.combinedOutput();
    await fcmd.output();
    await fcmd.run();
    await expect(fcmd.combinedOutput()).rejects.toThrow("ran out of CombinedOutput() actions");
    await expect(fcmd.output()).rejects.toThrow("ran out of Output() actions");
    await expect(fcmd.run()).rejects.toThrow("ran out of Run() actions");
    // The failed calls are not logged.
    expect(fcmd.combinedOutputLog).toEqual([["tool"]]);
    expect(fcmd.outputLog).toEqual([["tool"]]);
    expect(fcmd.runLog).toEqual([["tool"]]);
  });

  // Go checks before it counts (`if fake.CombinedOutputCalls > len(...)-1 { panic }`, then
  // `CombinedOutputCalls++`), so a call that found no action is not counted, and calls always
  // equal the log's length.
  it("a call that ran out of actions is not counted (as in Go)", async () => {
    const fcmd = initFakeCmd(
      new FakeCmd({ combinedOutputScript: [ok("c")], outputScript: [], runScript: [] }),
      "tool",
    );
    await fcmd.combinedOutput();
    await expect(fcmd.combinedOutput()).rejects.toThrow("ran out");
    await expect(fcmd.output()).rejects.toThrow("ran out");
    await expect(fcmd.run()).rejects.toThrow("ran out");
    expect({
      combinedOutput: [fcmd.combinedOutputCalls, fcmd.combinedOutputLog.length],
      output: [fcmd.outputCalls, fcmd.outputLog.length],
      run: [fcmd.runCalls, fcmd.runLog.length],
    }).toEqual({ combinedOutput: [1, 1], output: [0, 0], run: [0, 0] });
  });
});

describe("exactOrder (Go's TestFakeExecWithExactOrder)", () => {
  it("passes when every command has the expected argv, in order", async () => {
    const fexec = new FakeExec({
      exactOrder: true,
      commandScript: [expecting("ps", "ax"), expecting("ls", "-l", "/tmp")],
    });
    expect((await fexec.command("ps", "ax").combinedOutput()).toString()).toBe("ps ax");
    expect((await fexec.command("ls", "-l", "/tmp").combinedOutput()).toString()).toBe(
      "ls -l /tmp",
    );
    expect(fexec.commandCalls).toBe(2);
  });

  it("throws on the wrong command", () => {
    const fexec = new FakeExec({ exactOrder: true, commandScript: [expecting("ps", "ax")] });
    expect(() => fexec.command("ls", "ax")).toThrow("received command: ls, expected: ps");
  });

  it("throws on extra or missing arguments", () => {
    const extra = new FakeExec({ exactOrder: true, commandScript: [expecting("ps", "ax")] });
    expect(() => extra.command("ps", "ax", "-o", "pid")).toThrow(
      "command (ps) received with extra/missing arguments",
    );
    const missing = new FakeExec({ exactOrder: true, commandScript: [expecting("ps", "ax")] });
    expect(() => missing.command("ps")).toThrow(
      "command (ps) received with extra/missing arguments",
    );
  });

  it("throws on a wrong argument, naming the expected and received one", () => {
    const fexec = new FakeExec({
      exactOrder: true,
      commandScript: [expecting("mount", "-t", "tmpfs", "tmpfs", "/a")],
    });
    expect(() => fexec.command("mount", "-t", "tmpfs", "tmpfs", "/b")).toThrow(
      "command (mount) called with unexpected argument. Expected /a, Received /b",
    );
  });

  it("checks commandContext too", () => {
    const fexec = new FakeExec({ exactOrder: true, commandScript: [expecting("ps", "ax")] });
    expect(() => fexec.commandContext(new AbortController().signal, "ps", "aux")).toThrow(
      "unexpected argument. Expected ax, Received aux",
    );
  });

  it("without exactOrder, the argv is not checked", () => {
    const fexec = new FakeExec({ commandScript: [expecting("ps", "ax")] });
    expect(() => fexec.command("something", "else")).not.toThrow();
  });
});

describe("disableScripts", () => {
  it("FakeExec hands out inert FakeCmds without consuming the script", async () => {
    const scripted = new FakeCmd({ combinedOutputScript: [ok("scripted")] });
    const fexec = new FakeExec({ disableScripts: true, commandScript: [returns(scripted)] });
    const cmd = fexec.command("rm", "-rf", "/");
    expect(cmd).toBeInstanceOf(FakeCmd);
    expect(cmd).not.toBe(scripted);
    const fcmd = cmd as FakeCmd;
    expect(fcmd.disableScripts).toBe(true);
    expect(fcmd.argv).toEqual(["rm", "-rf", "/"]);
    expect((await cmd.combinedOutput()).length).toBe(0);
    expect((await cmd.output()).length).toBe(0);
    await expect(cmd.run()).resolves.toBeUndefined();
    // Any number of commands, and nothing counted.
    for (let i = 0; i < 5; i++) fexec.commandContext(new AbortController().signal, "x");
    expect(fexec.commandCalls).toBe(0);
    expect(fcmd.combinedOutputCalls + fcmd.outputCalls + fcmd.runCalls).toBe(0);
    expect(scripted.argv).toEqual([]);
  });

  it("a FakeCmd with disableScripts ignores its scripts", async () => {
    const fcmd = new FakeCmd({ disableScripts: true, runScript: [ok("would-write")] });
    const out = sink();
    fcmd.setStdout(out.stream);
    await fcmd.run();
    expect(out.text()).toBe("");
    expect(fcmd.runCalls).toBe(0);
    expect(fcmd.runLog).toEqual([]);
  });
});

describe("FakeCmd I/O and settings", () => {
  it("Run writes the scripted stdout and stderr to the writers set", async () => {
    const fcmd = new FakeCmd({
      runScript: [ok("to stdout\n", "to stderr\n"), fail("partial\n", new FakeExitError(2))],
    });
    const fexec = new FakeExec({ commandScript: [returns(fcmd), returns(fcmd)] });
    const out = sink();
    const err = sink();
    const cmd = fexec.command("tool");
    cmd.setStdout(out.stream);
    cmd.setStderr(err.stream);
    await cmd.run();
    expect(out.text()).toBe("to stdout\n");
    expect(err.text()).toBe("to stderr\n");
    // Output is written before the error is returned, as in Go.
    await expect(fexec.command("tool").run()).rejects.toThrow("exit 2");
    expect(out.text()).toBe("to stdout\npartial\n");
    expect(err.text()).toBe("to stderr\n");
  });

  it("setDir, setEnv, setStdin, setStdout and setStderr are recorded", () => {
    const fcmd = new FakeCmd();
    fcmd.setDir("/one");
    fcmd.setDir("/two");
    const env = ["A=1", "B=2"];
    fcmd.setEnv(env);
    env.push("C=3");
    const stdin = Readable.from(["input"]);
    fcmd.setStdin(stdin);
    const out = new PassThrough();
    const err = new PassThrough();
    fcmd.setStdout(out);
    fcmd.setStderr(err);
    expect(fcmd.dirs).toEqual(["/one", "/two"]);
    expect(fcmd.env).toEqual(["A=1", "B=2"]);
    expect(fcmd.stdin).toBe(stdin);
    expect(fcmd.stdout).toBe(out);
    expect(fcmd.stderr).toBe(err);
    fcmd.setStdin("text");
    expect(fcmd.stdin).toBe("text");
  });

  it("stdoutPipe and stderrPipe return the scripted stream or throw the scripted error", () => {
    const stdout = Readable.from(["o"]);
    const stderr = Readable.from(["e"]);
    const fcmd = new FakeCmd({
      stdoutPipeResponse: { readCloser: stdout },
      stderrPipeResponse: { readCloser: stderr },
    });
    expect(fcmd.stdoutPipe()).toBe(stdout);
    expect(fcmd.stderrPipe()).toBe(stderr);

    const boom = new Error("pipe failed");
    const failing = new FakeCmd({
      stdoutPipeResponse: { readCloser: stdout, error: boom },
      stderrPipeResponse: { error: boom },
    });
    expect(() => failing.stdoutPipe()).toThrow(boom);
    expect(() => failing.stderrPipe()).toThrow(boom);
    expect(() => new FakeCmd().stdoutPipe()).toThrow("no stdoutPipeResponse set");
    expect(() => new FakeCmd().stderrPipe()).toThrow("no stderrPipeResponse set");
  });

  it("a scripted stdoutPipe stream can be read like a real one", async () => {
    const fcmd = new FakeCmd({ stdoutPipeResponse: { readCloser: Readable.from(["a\n", "b\n"]) } });
    await fcmd.start();
    let text = "";
    for await (const c of fcmd.stdoutPipe()) text += String(c);
    await fcmd.wait();
    expect(text).toBe("a\nb\n");
  });

  it("start and wait resolve, or reject with startResponse / waitResponse", async () => {
    const fine = new FakeCmd();
    await expect(fine.start()).resolves.toBeUndefined();
    await expect(fine.wait()).resolves.toBeUndefined();

    const startErr = new Error("start failed");
    const waitErr = new FakeExitError(7);
    const bad = new FakeCmd({ startResponse: startErr, waitResponse: waitErr });
    await expect(bad.start()).rejects.toBe(startErr);
    await expect(bad.wait()).rejects.toBe(waitErr);
  });

  it("stop is counted", () => {
    const fcmd = new FakeCmd();
    fcmd.stop();
    fcmd.stop();
    expect(fcmd.stopCalls).toBe(2);
  });

  it("initFakeCmd records argv and returns the same FakeCmd", () => {
    const fcmd = new FakeCmd();
    expect(initFakeCmd(fcmd, "cmd", "a", "b")).toBe(fcmd);
    expect(fcmd.argv).toEqual(["cmd", "a", "b"]);
    expect(initFakeCmd(fcmd, "other").argv).toEqual(["other"]);
  });
});

describe("lookPathFunc", () => {
  it("answers lookPath, synchronously or not", async () => {
    const seen: string[] = [];
    const fexec = new FakeExec({
      lookPathFunc: (file) => {
        seen.push(file);
        return `/fake/bin/${file}`;
      },
    });
    await expect(fexec.lookPath("mount")).resolves.toBe("/fake/bin/mount");
    fexec.lookPathFunc = async (file) => {
      throw new Error(`exec: "${file}": executable file not found in $PATH`);
    };
    await expect(fexec.lookPath("nope")).rejects.toThrow('exec: "nope": executable file not found');
    expect(seen).toEqual(["mount"]);
  });

  it("without lookPathFunc, lookPath rejects", async () => {
    await expect(new FakeExec().lookPath("mount")).rejects.toThrow("no lookPathFunc set");
  });
});

describe("FakeExitError", () => {
  it('reads "exit N" and reports its status as an exit', () => {
    const err = new FakeExitError(42);
    expect(err).toBeInstanceOf(Error);
    expect(err.message).toBe("exit 42");
    expect(String(err)).toBe("exit 42");
    expect(err.name).toBe("FakeExitError");
    expect(err.status).toBe(42);
    expect(err.exitStatus()).toBe(42);
    expect(err.exited()).toBe(true);
    expect(new FakeExitError(0).message).toBe("exit 0");
  });

  it("is an ExitError for code that checks with isExitError", () => {
    expect(isExitError(new FakeExitError(1))).toBe(true);
    expect(isExitError(new Error("exit 1"))).toBe(false);
  });
});

describe("the same code against FakeExec and the real executor", () => {
  /** Counts the lines of `file` matching `pattern`; grep's exit 1 means none. */
  async function countMatches(exec: Interface, pattern: string, file: string): Promise<number> {
    try {
      const out = await exec.command("grep", "-c", "--", pattern, file).output();
      return Number.parseInt(out.toString("utf8").trim(), 10);
    } catch (err) {
      if (isExitError(err) && err.exitStatus() === 1) return 0;
      throw err;
    }
  }

  /** Splits what `echo` prints back into words. */
  async function echoWords(exec: Interface, ...words: string[]): Promise<string[]> {
    const out = await exec.command("echo", ...words).combinedOutput();
    return out.toString("utf8").trim().split(/\s+/);
  }

  let dir: string;
  let file: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "nsenter-testing-"));
    file = join(dir, "lines.txt");
    writeFileSync(file, "apple\nbanana\napricot\n");
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function exercise(exec: Interface): Promise<void> {
    expect(await countMatches(exec, "^ap", file)).toBe(2);
    expect(await countMatches(exec, "cherry", file)).toBe(0);
    const missing = await countMatches(exec, "x", join(dir, "missing")).then(
      () => null,
      (e: unknown) => e,
    );
    expect(isExitError(missing)).toBe(true);
    expect((missing as { exitStatus(): number }).exitStatus()).toBe(2);
    expect(await echoWords(exec, "hello", "from", "exec")).toEqual(["hello", "from", "exec"]);
  }

  it("with FakeExec (exactOrder checks the argv the code builds)", async () => {
    const fexec = new FakeExec({ exactOrder: true });
    const grep = (pattern: string, f: string, action: FakeAction): FakeCommandAction => {
      return () => new FakeCmd({ argv: ["grep", "-c", "--", pattern, f], outputScript: [action] });
    };
    fexec.commandScript = [
      grep("^ap", file, ok("2\n")),
      grep("cherry", file, fail("0\n", new FakeExitError(1))),
      grep("x", join(dir, "missing"), fail("", new FakeExitError(2))),
      () =>
        new FakeCmd({
          argv: ["echo", "hello", "from", "exec"],
          combinedOutputScript: [ok("hello from exec\n")],
        }),
    ];
    await exercise(fexec);
    expect(fexec.commandCalls).toBe(4);
  });

  it("with the real executor, newExec()", async () => {
    const exec = newExec();
    await exercise(exec);
    // And what the real one throws is the real ExitError.
    const err = await exec
      .command("grep", "-c", "x", join(dir, "missing"))
      .output()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ExitError);
  });
});

describe("newNsenter with a FakeExec", () => {
  let root: string;
  beforeAll(() => {
    // newFakeNsenter's layout, made by hand.
    root = mkdtempSync(join(tmpdir(), "nsenter-root-"));
    symlinkSync("/bin", join(root, "bin"));
    mkdirSync(join(root, "usr"), 0o755);
    symlinkSync("/usr/bin", join(root, "usr", "bin"));
    symlinkSync("/usr/sbin", join(root, "usr", "sbin"));
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  /** A FakeExec that also records which method was called, and with which signal. */
  class RecordingExec extends FakeExec {
    calls: { method: "command" | "commandContext"; signal?: AbortSignal }[] = [];
    override command(cmd: string, ...args: string[]): CmdLike {
      this.calls.push({ method: "command" });
      return super.command(cmd, ...args);
    }
    override commandContext(signal: AbortSignal, cmd: string, ...args: string[]): CmdLike {
      this.calls.push({ method: "commandContext", signal });
      return super.commandContext(signal, cmd, ...args);
    }
  }

  it("uses the binary backend and hands the executor Go's exact nsenter argv", async () => {
    const mountArgs = ["-t", "tmpfs", "tmpfs", "/mnt/target"];
    const fexec = new RecordingExec({ exactOrder: true });
    const ne = newNsenter(root, fexec);
    expect(ne.backend).toBe("binary");

    // Go's initPaths: the first of /, /bin, /usr/sbin, /usr/bin holding the tool under root.
    const expectedMount = ["/", "/bin", "/usr/sbin", "/usr/bin"]
      .map((d) => join(d, "mount"))
      .find((p) => existsSync(join(root, p)));
    expect(expectedMount).toBeDefined();
    const mount = ne.absHostPath("mount");
    expect(mount).toBe(expectedMount);

    const argv = ["nsenter", `--mount=${root}/proc/1/ns/mnt`, "--", mount, ...mountArgs];
    const scripted = (label: string): FakeCommandAction => {
      return () => new FakeCmd({ argv, combinedOutputScript: [ok(label)] });
    };
    fexec.commandScript = [scripted("command"), scripted("exec"), scripted("commandContext")];

    const ac = new AbortController();
    const viaCommand = ne.command("mount", ...mountArgs);
    const viaExec = ne.exec("mount", mountArgs);
    const viaContext = ne.commandContext(ac.signal, "mount", ...mountArgs);
    expect(fexec.commandCalls).toBe(3);
    expect(fexec.calls).toEqual([
      { method: "command" },
      { method: "command" },
      { method: "commandContext", signal: ac.signal },
    ]);
    // The Cmds NSEnter returns are the fake's.
    expect((await viaCommand.combinedOutput()).toString()).toBe("command");
    expect((await viaExec.combinedOutput()).toString()).toBe("exec");
    expect((await viaContext.combinedOutput()).toString()).toBe("commandContext");
  });

  it("a tool not found under the root is passed by name", () => {
    const fcmd = new FakeCmd();
    const fexec = new FakeExec({ commandScript: [returns(fcmd)] });
    const ne = newNsenter(root, fexec);
    ne.command("no-such-tool-here", "x");
    expect(fcmd.argv).toEqual([
      "nsenter",
      `--mount=${root}/proc/1/ns/mnt`,
      "--",
      "no-such-tool-here",
      "x",
    ]);
  });
});
