// One behaviour suite for Cmd (Go's os/exec semantics as wrapped by k8s.io/utils/exec), run
// against every backend: plain child_process, NSEnter native, NSEnter over the nsenter binary.
import { existsSync, writeFileSync, chmodSync } from "node:fs";
import { join } from "node:path";
import { PassThrough, Readable, Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AbortError, ExitError, nativeAvailable } from "../../src/index";
import {
  describePrivileged,
  makeTarget,
  newFds,
  openFds,
  zombies,
  type Target,
} from "../support/namespace";
import { runners, STOP_GRACE_MS, type Runner } from "../support/runners";
import { testedBackends } from "../support/backends";
import { sink } from "../support/streams";

let target: Target;

async function readAll(r: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of r) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString();
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describePrivileged("Cmd behaviour", () => {
  beforeAll(async () => {
    target = await makeTarget();
    target.sh('echo target > "$1/m"', target.privateDir);
    writeFileSync(join(target.privateDir, "m"), "caller\n"); // hidden under the target's tmpfs
  });
  afterAll(async () => {
    await target?.close();
  });

  for (const reason of testedBackends().skipped) it.skip(reason, () => {});

  describe.each(runners(() => target).map((r) => [r.name, r] as [string, Runner]))(
    "%s",
    (name, r) => {
      it("run() resolves on exit status 0", async () => {
        await expect(r.command("true").run()).resolves.toBeUndefined();
      });

      it("a non-zero exit is an ExitError with Go's message and status", async () => {
        const err = await r
          .command("sh", "-c", "exit 3")
          .run()
          .catch((e) => e);
        expect(err).toBeInstanceOf(ExitError);
        expect(err.message).toBe("exit status 3");
        expect(err.exitStatus()).toBe(3);
        expect(err.exited()).toBe(true);
        expect(err.signal).toBeNull();
      });

      it("death by a signal is an ExitError 'signal: killed' with status -1", async () => {
        const err = await r
          .command("sh", "-c", "kill -9 $$")
          .run()
          .catch((e) => e);
        expect(err).toBeInstanceOf(ExitError);
        expect(err.message).toBe("signal: killed");
        expect(err.exitStatus()).toBe(-1);
        expect(err.exited()).toBe(false);
        expect(err.signal).toBe("SIGKILL");
      });

      // Node's child_process reports an unnamed (realtime) signal as exit code 0; the addon does not.
      const rtSignals = r.name === "native" || (r.name === "binary" && nativeAvailable());
      it.skipIf(!rtSignals)(
        "death by a realtime signal is an ExitError 'signal: signal 34'",
        async () => {
          const err = await r
            .command("sh", "-c", "kill -s 34 $$")
            .run()
            .catch((e) => e);
          expect(err).toBeInstanceOf(ExitError);
          expect(err.message).toBe("signal: signal 34");
          expect(err.exitStatus()).toBe(-1);
        },
      );

      it("output() returns stdout; on failure ExitError.stderr holds stderr", async () => {
        expect((await r.command("echo", "hello", "world").output()).toString()).toBe(
          "hello world\n",
        );
        const err = await r
          .command("sh", "-c", "echo out; echo oops >&2; exit 2")
          .output()
          .catch((e) => e);
        expect(err).toBeInstanceOf(ExitError);
        expect(err.stderr.toString()).toBe("oops\n");
      });

      it("combinedOutput() holds both streams", async () => {
        const out = (
          await r.command("sh", "-c", "echo a; echo b >&2; echo c").combinedOutput()
        ).toString();
        if (name === "native")
          expect(out).toBe("a\nb\nc\n"); // one pipe: exact order
        else expect(out.split("\n").sort()).toEqual(["", "a", "b", "c"]);
      });

      it("stdin from a Buffer, a string and a Readable", async () => {
        for (const input of [Buffer.from("buf\0fer"), "string", Readable.from(["rea", "dable"])]) {
          const c = r.command("cat");
          c.setStdin(input);
          const expected =
            typeof input === "string"
              ? input
              : Buffer.isBuffer(input)
                ? input.toString()
                : "readable";
          expect((await c.output()).toString()).toBe(expected);
        }
      });

      it("a failing stdin stream fails wait() once the command is done, as Go reports copy errors", async () => {
        const source = new Readable({
          read() {
            this.destroy(new Error("source broke"));
          },
        });
        const c = r.command("cat");
        c.setStdin(source);
        await expect(c.output()).rejects.toThrow("source broke");
      });

      it("a failing stdout writer fails wait() with the writer's error", async () => {
        const c = r.command("echo", "hi");
        c.setStdout(
          new Writable({
            write(_c, _e, cb) {
              cb(new Error("disk full"));
            },
          }),
        );
        await expect(c.run()).rejects.toThrow("disk full");
      });

      it("stdin left unset reads as empty (/dev/null)", async () => {
        expect((await r.command("wc", "-c").output()).toString().trim()).toBe("0");
      });

      it("setStdout/setStderr receive the streams; the writers are not ended", async () => {
        const o = sink();
        const e = sink();
        const c = r.command("sh", "-c", "echo to-out; echo to-err >&2");
        c.setStdout(o.stream);
        c.setStderr(e.stream);
        await c.run();
        expect(o.text()).toBe("to-out\n");
        expect(e.text()).toBe("to-err\n");
        expect(o.stream.writableEnded).toBe(false);
      });

      it("stdoutPipe/stderrPipe stream output while the command runs", async () => {
        const c = r.command("sh", "-c", "echo one; echo two >&2");
        const out = c.stdoutPipe();
        const err = c.stderrPipe();
        await c.start();
        const [o, e] = await Promise.all([readAll(out), readAll(err)]);
        await c.wait();
        expect(o).toBe("one\n");
        expect(e).toBe("two\n");
      });

      it("wait() does not wait for a stdoutPipe a grandchild still holds open", async () => {
        const c = r.command("sh", "-c", "sleep 2 & echo started");
        const out = c.stdoutPipe();
        let ended = false;
        out.on("end", () => (ended = true));
        out.resume();
        await c.start();
        await c.wait();
        expect(ended).toBe(false);
      });

      it("pipe and setter misuse throws Go's errors", async () => {
        const c = r.command("true");
        c.setStdout(new PassThrough());
        expect(() => c.stdoutPipe()).toThrow("exec: Stdout already set");
        await expect(c.output()).rejects.toThrow("exec: Stdout already set");
        const d = r.command("true");
        await d.start();
        expect(() => d.stderrPipe()).toThrow("exec: StderrPipe after process started");
        await d.wait();
      });

      it("start twice, wait before start, wait twice", async () => {
        const c = r.command("true");
        await expect(c.wait()).rejects.toThrow("exec: not started");
        await c.start();
        await expect(c.start()).rejects.toThrow("exec: already started");
        await c.wait();
        await expect(c.wait()).rejects.toThrow("exec: Wait was already called");
      });

      it("setEnv replaces the environment; [] is empty; unset inherits process.env", async () => {
        const c = r.command("env");
        c.setEnv(["A=1", "B=two words"]);
        expect((await c.output()).toString()).toBe("A=1\nB=two words\n");
        const empty = r.command("/usr/bin/env");
        empty.setEnv([]);
        expect((await empty.output()).toString()).toBe("");
        process.env.NSENTER_TEST_INHERIT = "yes";
        try {
          const inherit = (await r.command("env").output()).toString();
          expect(inherit).toContain("NSENTER_TEST_INHERIT=yes\n");
        } finally {
          delete process.env.NSENTER_TEST_INHERIT;
        }
      });

      it("setDir runs the command in that directory", async () => {
        const c = r.command("cat", "m");
        c.setDir(target.privateDir);
        // In the target namespace the directory is the tmpfs; in the caller, the file beneath it.
        expect((await c.output()).toString()).toBe(r.namespaced ? "target\n" : "caller\n");
        const p = r.command("pwd");
        p.setDir(target.privateDir);
        expect((await p.output()).toString()).toBe(`${target.privateDir}\n`);
      });

      it("a name over the kernel's limits is ENAMETOOLONG, for the program and the directory", async () => {
        const long = `/${"a".repeat(300)}`;
        await expect(r.command(long).run()).rejects.toMatchObject({
          code: "ENAMETOOLONG",
          syscall: "execve",
          path: long,
        });
        const c = r.command("true");
        c.setDir(`/${"d".repeat(5000)}`);
        await expect(c.run()).rejects.toMatchObject({ code: "ENAMETOOLONG", syscall: "chdir" });
      });

      it("setEnv drops empty entries and keeps the last value of a repeated key, as Go does", async () => {
        const c = r.command("env");
        c.setEnv(["A=1", "B=2", "", "A=3"]);
        expect((await c.output()).toString()).toBe("B=2\nA=3\n");
        const p = r.command("printenv", "A");
        p.setEnv(["A=first", "A=last"]);
        expect((await p.output()).toString()).toBe("last\n");
      });

      it("a missing directory is ENOENT from chdir", async () => {
        const c = r.command("true");
        c.setDir("/nonexistent/dir");
        const err = await c.run().catch((e) => e);
        expect(err.code).toBe("ENOENT");
        expect(err.errno).toBe(-2);
        expect(err.syscall).toBe("chdir");
        expect(err.path).toBe("/nonexistent/dir");
      });

      it("a missing program is ENOENT, not exit status 127", async () => {
        const err = await r
          .command("/nonexistent/tool", "x")
          .run()
          .catch((e) => e);
        expect(err).not.toBeInstanceOf(ExitError);
        expect(err).toMatchObject({
          code: "ENOENT",
          errno: -2,
          syscall: "execve",
          path: "/nonexistent/tool",
        });
        const bare = await r
          .command("no-such-tool-anywhere")
          .run()
          .catch((e) => e);
        expect(bare).toMatchObject({
          code: "ENOENT",
          syscall: "execve",
          path: "no-such-tool-anywhere",
        });
      });

      it("a file without execute permission is EACCES", async () => {
        const script = join(target.privateDir, "..", `noexec-${name}.sh`);
        writeFileSync(script, "#!/bin/sh\necho ran\n");
        chmodSync(script, 0o644);
        const err = await r
          .command(script)
          .run()
          .catch((e) => e);
        expect(err).toMatchObject({ code: "EACCES", errno: -13, syscall: "execve", path: script });
      });

      it("exit status 127 of the command itself stays an ExitError", async () => {
        const err = await r
          .command("sh", "-c", "exit 127")
          .run()
          .catch((e) => e);
        expect(err).toBeInstanceOf(ExitError);
        expect(err.exitStatus()).toBe(127);
      });

      it("a NUL byte in any string is ERR_INVALID_ARG_VALUE before anything runs", async () => {
        const marker = join(target.privateDir, "..", `nul-${name}`);
        const cases: [string, (c: ReturnType<Runner["command"]>) => void, string[]][] = [
          ["args", () => {}, ["touch", marker, "a\0b"]],
          ["cmd", () => {}, ["to\0uch", marker]],
          ["env", (c) => c.setEnv(["A=\0"]), ["touch", marker]],
          ["dir", (c) => c.setDir("/tm\0p"), ["touch", marker]],
        ];
        for (const [, prep, argv] of cases) {
          const c = r.command(argv[0]!, ...argv.slice(1));
          prep(c);
          await expect(c.run()).rejects.toMatchObject({ code: "ERR_INVALID_ARG_VALUE" });
        }
        expect(existsSync(marker)).toBe(false);
      });

      it("an argument list over the kernel's limit is E2BIG", async () => {
        const err = await r
          .command("true", "x".repeat(3 * 1024 * 1024))
          .run()
          .catch((e) => e);
        expect(err).toMatchObject({ code: "E2BIG", errno: -7 });
      });

      it("abort before start spawns nothing and rejects with AbortError", async () => {
        const ac = new AbortController();
        ac.abort(new Error("changed my mind"));
        const marker = join(target.privateDir, "..", `abort-${name}`);
        const c = r.commandContext(ac.signal, "touch", marker);
        const err = await c.run().catch((e) => e);
        expect(err).toBeInstanceOf(AbortError);
        expect(err.code).toBe("ABORT_ERR");
        expect(err.cause.message).toBe("changed my mind");
        expect(existsSync(marker)).toBe(false);
      });

      it("abort during a run kills the child (SIGKILL) and reaps it", async () => {
        const ac = new AbortController();
        const c = r.commandContext(ac.signal, "sh", "-c", "trap '' TERM; sleep 30");
        await c.start();
        const pid = c.pid!;
        setTimeout(() => ac.abort("deadline"), 50);
        const err = await c.wait().catch((e) => e);
        expect(err).toBeInstanceOf(AbortError);
        expect(err.cause).toBe("deadline");
        expect(alive(pid)).toBe(false);
      });

      it("an abort in the same tick as run() still kills the command", async () => {
        const ac = new AbortController();
        const p = r.commandContext(ac.signal, "sleep", "20").run();
        ac.abort("now");
        await expect(p).rejects.toBeInstanceOf(AbortError);
        const ac2 = new AbortController();
        const c = r.commandContext(ac2.signal, "sleep", "20");
        const started = c.start();
        await Promise.resolve();
        ac2.abort("next tick");
        await started;
        await expect(c.wait()).rejects.toMatchObject({ name: "AbortError", cause: "next tick" });
      });

      it("stop() right after start(), before it settles, still stops the command", async () => {
        const c = r.command("sleep", "20");
        const started = c.start();
        c.stop();
        await started;
        await expect(c.wait()).rejects.toMatchObject({ signal: "SIGTERM" });
      });

      it("wait() called before start() settled waits for the start", async () => {
        const c = r.command("sh", "-c", "exit 4");
        void c.start();
        await expect(c.wait()).rejects.toMatchObject({ message: "exit status 4" });
      });

      it("output() and combinedOutput() keep the output on the ExitError (Go returns both)", async () => {
        const o = await r
          .command("sh", "-c", "echo partial; echo why >&2; exit 2")
          .output()
          .catch((e) => e);
        expect(o.output.toString()).toBe("partial\n");
        expect(o.stderr.toString()).toBe("why\n");
        const c = await r
          .command("sh", "-c", "echo why >&2; exit 2")
          .combinedOutput()
          .catch((e) => e);
        expect(c).toBeInstanceOf(ExitError);
        expect(c.output.toString()).toBe("why\n");
      });

      it("a PATH in setEnv does not affect finding an absolute program (or nsenter)", async () => {
        const c = r.command("/bin/echo", "found");
        c.setEnv(["PATH=/opt/nothing"]);
        expect((await c.output()).toString()).toBe("found\n");
      });

      it("an abort after the command exited changes nothing", async () => {
        const ac = new AbortController();
        await r.commandContext(ac.signal, "true").run();
        ac.abort();
      });

      it("stop() sends SIGTERM", async () => {
        const c = r.command("sleep", "30");
        await c.start();
        c.stop();
        const err = await c.wait().catch((e) => e);
        expect(err).toBeInstanceOf(ExitError);
        expect(err.signal).toBe("SIGTERM");
        expect(err.message).toBe("signal: terminated");
      });

      it("stop() escalates to SIGKILL after the grace period", async () => {
        const c = r.command("sh", "-c", "trap '' TERM; echo ready; while :; do sleep 0.05; done");
        const out = c.stdoutPipe();
        await c.start();
        await new Promise((res) => out.once("data", res));
        const t0 = Date.now();
        c.stop();
        const err = await c.wait().catch((e) => e);
        expect(err.signal).toBe("SIGKILL");
        expect(Date.now() - t0).toBeGreaterThanOrEqual(STOP_GRACE_MS - 20);
      });

      it("stop() before start and after exit is a no-op", async () => {
        const c = r.command("true");
        c.stop();
        await c.run();
        c.stop();
      });

      it("large output on both streams at once does not deadlock", async () => {
        const size = 4 * 1024 * 1024;
        const c = r.command(
          "sh",
          "-c",
          `head -c ${size} /dev/zero >&2 & head -c ${size} /dev/zero; wait`,
        );
        const e = sink();
        c.setStderr(e.stream);
        const out = await c.output();
        expect(out.length).toBe(size);
        expect(e.bytes()).toBe(size);
      });

      it("a child that exits without reading stdin does not break the parent", async () => {
        const c = r.command("true");
        c.setStdin(Buffer.alloc(8 * 1024 * 1024, 1));
        await expect(c.run()).resolves.toBeUndefined();
      });

      it("runs leave no fd and no zombie behind", async () => {
        await r.command("true").run(); // warm up lazily opened fds
        await new Promise((res) => setTimeout(res, 200)); // let earlier tests' pipes close
        const before = openFds();
        for (let i = 0; i < 20; i++) {
          await r.command("echo", String(i)).output();
          await r
            .command("/nonexistent")
            .run()
            .catch(() => {});
          const c = r.command("cat");
          c.setStdin("x");
          await c.combinedOutput();
        }
        // pidfds close in libuv's close callbacks, on the next loop turn.
        await new Promise((res) => setTimeout(res, 20));
        expect(newFds(before)).toEqual([]);
        expect(zombies()).toEqual([]);
      });
    },
  );
});
