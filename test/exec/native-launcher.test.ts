// What only the native backend promises: a clean child (signals, fds), setns done in the
// child even while worker threads run, exact combinedOutput order, the pidfd-less fallback,
// and children started from workers reaped when the worker goes away.
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import { Writable } from "node:stream";
import { afterAll, beforeAll, expect, it } from "vitest";
import { newNsenter, type NSEnter } from "../../src/index";
import { nativeBinding } from "../../src/native";
import { CLONE_NEW, NativeLauncher } from "../../src/exec/native-launcher";
import { describePrivileged, makeTarget, zombies, type Target } from "../support/namespace";
import { requireNative } from "../support/runners";
import { nativeSuite } from "../support/backends";
import { runNode } from "../support/subprocess";

const suite = nativeSuite();

describePrivileged(
  suite.run ? "native backend" : `native backend [skipped: ${suite.reason}]`,
  () => {
    if (!suite.run) {
      it.skip(suite.reason, () => {});
      return;
    }
    let target: Target;
    let ne: NSEnter;
    beforeAll(async () => {
      requireNative();
      target = await makeTarget();
      target.sh('echo target > "$1/m"', target.privateDir);
      ne = newNsenter(target.root, undefined, { backend: "native" });
    });
    afterAll(async () => {
      await target?.close();
    });

    it("is the backend in use", () => {
      expect(ne.backend).toBe("native");
    });

    it("the child starts with no blocked and no ignored signals (Node ignores SIGPIPE)", async () => {
      const out = await ne.command("grep", "-E", "^Sig(Blk|Ign)", "/proc/self/status").output();
      expect(out.toString()).toBe("SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n");
    });

    it("`yes | head -1` prints y and nothing on stderr (SIGPIPE kills yes quietly)", async () => {
      const c = ne.command("sh", "-c", "yes | head -1");
      const errs: Buffer[] = [];
      c.setStderr(
        new Writable({
          write(chunk: Buffer, _e, cb) {
            errs.push(chunk);
            cb();
          },
        }),
      );
      expect((await c.output()).toString()).toBe("y\n");
      expect(Buffer.concat(errs).toString()).toBe("");
    });

    it.each([
      ["close_range", {}],
      ["the /proc/self/fd walk of kernels before 5.11", { NODE_NSENTER_NO_CLOSE_RANGE: "1" }],
    ] as const)("an fd inherited without CLOEXEC does not reach the child (%s)", (_how, env) => {
      const r = runNode(
        `const fs = require("node:fs");
       const has7 = fs.readlinkSync("/proc/self/fd/7");
       const ne = lib.newNsenter(${JSON.stringify(target.root)}, undefined, { backend: "native" });
       const out = (await ne.command("ls", "/proc/self/fd").output()).toString();
       const { closeRange } = require(${JSON.stringify(join(__dirname, "..", "..", "dist", "native.js"))}).nativeBinding().features();
       done({ has7, out, closeRange });`,
        { shellPrefix: "exec 7</dev/null;", env },
      );
      expect(r.result).toEqual({
        has7: "/dev/null",
        out: "0\n1\n2\n3\n",
        closeRange: "NODE_NSENTER_NO_CLOSE_RANGE" in env ? false : expect.any(Boolean),
      });
    });

    it("joins the namespace while worker threads are busy (setns happens in the child)", async () => {
      const src = `const end = Date.now() + 3000; while (Date.now() < end) {}`;
      const workers = [new Worker(src, { eval: true }), new Worker(src, { eval: true })];
      try {
        await Promise.all(workers.map((w) => new Promise((r) => w.once("online", r))));
        for (let i = 0; i < 20; i++) {
          const c = ne.command("cat", "m");
          c.setDir(target.privateDir);
          expect((await c.output()).toString()).toBe("target\n");
        }
      } finally {
        await Promise.all(workers.map((w) => w.terminate()));
      }
    });

    it("a program that exists only in the caller's namespace is ENOENT", async () => {
      const tool = join(target.privateDir, "caller-tool");
      writeFileSync(tool, "#!/bin/sh\necho caller\n", { mode: 0o755 });
      await expect(ne.command(tool).run()).rejects.toMatchObject({
        code: "ENOENT",
        errno: -2,
        syscall: "execve",
        path: tool,
      });
    });

    it("a directory that exists only in the caller's namespace is ENOENT", async () => {
      const dir = join(target.privateDir, "caller-dir");
      mkdirSync(dir, { recursive: true });
      const c = ne.command("true");
      c.setDir(dir);
      await expect(c.run()).rejects.toMatchObject({ code: "ENOENT", syscall: "chdir", path: dir });
    });

    it("a file the kernel cannot execute is ENOEXEC (no shell fallback, as in Go)", async () => {
      const file = join(target.privateDir, "..", "no-shebang");
      writeFileSync(file, "echo ran-by-sh\n", { mode: 0o755 });
      await expect(ne.command(file).run()).rejects.toMatchObject({
        code: "ENOEXEC",
        errno: -8,
        syscall: "execve",
        message: `ENOEXEC: exec format error, execve '${file}'`,
      });
    });

    it("entries without '=' reach the child as they are", async () => {
      const c = ne.command("/usr/bin/env", "-0");
      c.setEnv(["NOEQ", "A=1"]);
      expect((await c.output()).toString()).toBe("NOEQ\0A=1\0");
    });

    it("combinedOutput keeps the exact order of interleaved writes (one pipe)", async () => {
      const script = "for i in 1 2 3 4 5 6 7 8; do echo o$i; echo e$i >&2; done";
      const out = (await ne.command("sh", "-c", script).combinedOutput()).toString();
      expect(out).toBe([1, 2, 3, 4, 5, 6, 7, 8].map((i) => `o${i}\ne${i}\n`).join(""));
    });

    it("a malformed request to the addon throws and starts nothing", () => {
      const marker = join(target.privateDir, "..", "malformed-marker");
      const base = {
        candidates: ["/usr/bin/touch"],
        argv: ["touch", marker],
        envp: [],
        dir: "",
        nsPaths: [],
        nsTypes: [],
        stdio: [0, 0, 0],
      };
      const spawn = nativeBinding()!.spawn as (req: unknown, cb: () => void) => unknown;
      for (const bad of [
        { ...base, stdio: [0, 0, "x"] },
        { ...base, argv: ["touch", 5] },
        { ...base, nsPaths: ["/a"] },
        {
          ...base,
          get stdio(): number[] {
            throw new Error("getter threw");
          },
        },
      ]) {
        expect(() => spawn(bad, () => {})).toThrow();
      }
      expect(existsSync(marker)).toBe(false);
    });

    it("refuses pid and time namespaces, which need a second fork", () => {
      for (const type of [CLONE_NEW.pid, CLONE_NEW.time]) {
        expect(
          () => new NativeLauncher(nativeBinding()!, [{ path: "/proc/self/ns/pid", type }]),
        ).toThrow(expect.objectContaining({ code: "ERR_INVALID_ARG_VALUE" }));
      }
    });

    it("reports the kernel features it uses", () => {
      const f = nativeBinding()!.features();
      expect(typeof f.pidfd).toBe("boolean");
      expect(typeof f.closeRange).toBe("boolean");
    });

    it("without pidfds (thread-per-child fallback) exits, signals and aborts still work", () => {
      const r = runNode(
        `const binding = require(${JSON.stringify(join(__dirname, "..", "..", "dist", "native.js"))}).nativeBinding();
       const ne = lib.newNsenter(${JSON.stringify(target.root)}, undefined, { backend: "native", stopGracePeriodMs: 100 });
       const out = (await ne.command("echo", "hi").output()).toString();
       const status = await ne.command("sh", "-c", "exit 7").run().catch((e) => e.exitStatus());
       const s = ne.command("sh", "-c", "trap '' TERM; echo ready; sleep 5"); const so = s.stdoutPipe();
       await s.start(); await new Promise((r) => so.once("data", r)); s.stop();
       const sig = await s.wait().catch((e) => e.signal);
       const ac = new AbortController(); const a = ne.commandContext(ac.signal, "sleep", "5");
       await a.start(); ac.abort(); const aborted = await a.wait().catch((e) => e.name);
       const many = await Promise.all(Array.from({ length: 50 }, (_, i) => ne.command("echo", String(i)).output()));
       done({ features: binding.features(), out, status, sig, aborted, many: many.map(String).join("").length });`,
        { env: { NODE_NSENTER_NO_PIDFD: "1" } },
      );
      expect(r.result).toEqual({
        features: { pidfd: false, closeRange: expect.any(Boolean) },
        out: "hi\n",
        status: 7,
        sig: "SIGKILL",
        aborted: "AbortError",
        many: Array.from({ length: 50 }, (_, i) => `${i}\n`).join("").length,
      });
    });

    it.each([
      ["pidfd", {}],
      ["thread fallback", { NODE_NSENTER_NO_PIDFD: "1" }],
    ] as const)("children of a worker terminated mid-run are reaped (%s)", (_mode, env) => {
      const r = runNode(
        `const { Worker } = require("node:worker_threads");
         const code = \`
           const { parentPort } = require("node:worker_threads");
           const lib = require(\${JSON.stringify(${JSON.stringify(join(__dirname, "..", "..", "dist", "index.js"))})});
           const ne = lib.newNsenter(${JSON.stringify(target.root)}, undefined, { backend: "native" });
           const c = ne.command("sleep", "0.3");
           c.start().then(() => parentPort.postMessage(c.pid));
         \`;
         const w = new Worker(code, { eval: true });
         const pid = await new Promise((r) => w.once("message", r));
         await w.terminate();
         await new Promise((r) => setTimeout(r, 800));
         const fs = require("node:fs");
         let state = "gone";
         try { state = fs.readFileSync("/proc/" + pid + "/stat", "utf8").split(") ")[1][0]; } catch {}
         done({ pid: typeof pid, state });`,
        { env },
      );
      expect(r.result).toEqual({ pid: "number", state: "gone" });
    });

    it("leaves no zombie after many concurrent runs", async () => {
      await Promise.all(Array.from({ length: 64 }, () => ne.command("true").run()));
      expect(zombies()).toEqual([]);
    });
  },
);
