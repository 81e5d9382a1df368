// Faults: a low RLIMIT_NOFILE, an argument over the kernel's limit, bad targets in a storm,
// workers that start commands and are terminated mid-run.
import { spawn } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { nativeAvailable, newNsenter } from "../../src/index";
import { testedBackends } from "../support/backends";
import { describePrivileged, makeTarget, zombies, type Target } from "../support/namespace";
import { REPO, runNode } from "../support/subprocess";

describePrivileged("limits and faults", () => {
  let target: Target;
  beforeAll(async () => {
    target = await makeTarget();
  });
  afterAll(async () => {
    await target?.close();
  });

  describe.each(testedBackends().run)("%s", (backend) => {
    it("at RLIMIT_NOFILE 64, a storm settles every run with a result or EMFILE, then works on", () => {
      const r = runNode(
        `const ne = lib.newNsenter(${JSON.stringify(target.root)}, undefined, { backend: ${JSON.stringify(backend)} });
         const runs = Array.from({ length: 300 }, (_, i) => {
           const c = ne.command("cat"); c.setStdin("x" + i);
           return c.output().then((o) => (o.toString() === "x" + i ? "ok" : "wrong:" + o), (e) => e.code ?? String(e));
         });
         const results = await Promise.all(runs);
         const counts = {};
         for (const r of results) counts[r] = (counts[r] ?? 0) + 1;
         const after = [];
         for (let i = 0; i < 20; i++) after.push((await ne.command("echo", "after" + i).output()).toString());
         done({ counts, afterOk: after.every((o, i) => o === "after" + i + "\\n") });`,
        { shellPrefix: "ulimit -n 64;" },
      );
      expect(r.stderr).toBe("");
      const { counts, afterOk } = r.result as { counts: Record<string, number>; afterOk: boolean };
      expect(Object.keys(counts).sort()).toEqual(["EMFILE", "ok"]);
      expect(counts.ok! + counts.EMFILE!).toBe(300);
      expect(afterOk).toBe(true);
    });

    it("a 3 MB argument is E2BIG and the next run works", async () => {
      const ne = newNsenter(target.root, undefined, { backend });
      const err = await ne
        .command("echo", "y".repeat(3 * 1024 * 1024))
        .run()
        .catch((e) => e);
      expect(err).toMatchObject({ code: "E2BIG", errno: -7, syscall: "execve" });
      expect((await ne.command("echo", "ok").output()).toString()).toBe("ok\n");
    });

    it("bad targets in a storm: each run gets its target's error", async () => {
      const base = mkdtempSync(join(tmpdir(), "nsenter-targets-"));
      const gone = spawn("true");
      await new Promise((r) => gone.once("exit", r));
      const make = (name: string, ns: string | null) => {
        const root = join(base, name);
        mkdirSync(join(root, "proc", "1", "ns"), { recursive: true });
        for (const d of ["bin", "usr"]) symlinkSync(`/${d}`, join(root, d));
        if (ns) symlinkSync(ns, join(root, "proc", "1", "ns", "mnt"));
        return newNsenter(root, undefined, { backend });
      };
      try {
        const cases = [
          {
            ne: make("wrong-type", `/proc/${target.pid}/ns/net`),
            code: "EINVAL",
            syscall: "setns",
          },
          { ne: make("exited", `/proc/${gone.pid}/ns/mnt`), code: "ENOENT", syscall: "open" },
          { ne: make("missing", null), code: "ENOENT", syscall: "open" },
          { ne: make("good", target.nsPath), code: "ok", syscall: "" },
        ];
        const results = await Promise.all(
          Array.from({ length: 200 }, async (_, i) => {
            const c = cases[i % cases.length]!;
            const got = await c.ne
              .command("true")
              .run()
              .then(
                () => "ok",
                (e) => `${e.code}/${e.syscall}`,
              );
            return got === (c.code === "ok" ? "ok" : `${c.code}/${c.syscall}`)
              ? "right"
              : `${i}: ${got}`;
          }),
        );
        expect(results.filter((r) => r !== "right")).toEqual([]);
      } finally {
        rmSync(base, { recursive: true, force: true });
      }
    });

    it("without privileges, a storm of runs is EPERM each, and nothing is left behind", () => {
      const r = runNode(
        `const ne = lib.newNsenter(${JSON.stringify(target.root)}, undefined, { backend: ${JSON.stringify(backend)} });
         const codes = await Promise.all(Array.from({ length: 100 }, () => ne.command("true").run().then(() => "ran", (e) => e.code)));
         done([...new Set(codes)]);`,
        { dropCaps: ["sys_admin"] },
      );
      expect(r.result).toEqual(["EPERM"]);
    });

    it("an unreadable namespace file is EACCES for every run", () => {
      const root = mkdtempSync(join(tmpdir(), "nsenter-eacces-"));
      try {
        mkdirSync(join(root, "proc", "1", "ns"), { recursive: true });
        for (const d of ["bin", "usr"]) symlinkSync(`/${d}`, join(root, d));
        writeFileSync(join(root, "proc", "1", "ns", "mnt"), "");
        chmodSync(join(root, "proc", "1", "ns", "mnt"), 0);
        const r = runNode(
          `const ne = lib.newNsenter(${JSON.stringify(root)}, undefined, { backend: ${JSON.stringify(backend)} });
           const codes = await Promise.all(Array.from({ length: 50 }, () => ne.command("true").run().then(() => "ran", (e) => e.code)));
           done([...new Set(codes)]);`,
          { dropCaps: ["dac_override", "dac_read_search"] },
        );
        expect(r.result).toEqual(["EACCES"]);
      } finally {
        rmSync(root, { recursive: true, force: true });
      }
    });

    // Node's child_process never reaps the children of a terminated worker (its loop is gone);
    // the binary backend starts nsenter through the addon when it can, which does.
    const terminates = backend === "native" || nativeAvailable();
    it(`runs from worker threads${terminates ? ", some terminated mid-run," : ""} leave no zombie`, () => {
      const dist = join(REPO, "dist", "index.js");
      const r = runNode(
        `const { Worker } = require("node:worker_threads");
         const code = \`
           const { parentPort, workerData } = require("node:worker_threads");
           const lib = require(${JSON.stringify(dist)});
           const ne = lib.newNsenter(${JSON.stringify(target.root)}, undefined, { backend: ${JSON.stringify(backend)} });
           (async () => {
             let ok = 0;
             for (let i = 0; i < 20; i++) if ((await ne.command("echo", String(i)).output()).toString() === i + "\\\\n") ok++;
             parentPort.postMessage({ ok });
             const running = Array.from({ length: 5 }, () => { const c = ne.command("sleep", "0.5"); c.start(); return c; });
             await Promise.all(running.map((c) => new Promise((r) => setTimeout(r, 50))));
             parentPort.postMessage({ started: true });
             if (!workerData.terminate) { await Promise.all(running.map((c) => c.wait())); parentPort.postMessage({ finished: true }); }
           })();
         \`;
         const results = [];
         await Promise.all(Array.from({ length: 6 }, (_, i) => new Promise((resolve) => {
           const terminate = ${terminates} && i % 2 === 0;
           const w = new Worker(code, { eval: true, workerData: { terminate } });
           w.on("message", async (m) => {
             if ("ok" in m) results.push(m.ok);
             if (m.started && terminate) { await w.terminate(); resolve(); }
             if (m.finished) { await w.terminate(); resolve(); }
           });
           w.on("error", (e) => { results.push(String(e)); resolve(); });
         })));
         await new Promise((r) => setTimeout(r, 1200));
         const fs = require("node:fs");
         const zombies = fs.readdirSync("/proc").filter((p) => /^\\d+$/.test(p)).filter((p) => {
           try { const s = fs.readFileSync("/proc/" + p + "/stat", "utf8"); const rest = s.slice(s.lastIndexOf(")") + 2).split(" "); return rest[0] === "Z" && Number(rest[1]) === process.pid; } catch { return false; }
         });
         done({ results, zombies });`,
      );
      expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 0, stderr: "" });
      expect(r.result).toEqual({ results: [20, 20, 20, 20, 20, 20], zombies: [] });
    });
  });

  it("nothing in this file left a zombie in the test process", () => {
    expect(zombies()).toEqual([]);
  });
});
