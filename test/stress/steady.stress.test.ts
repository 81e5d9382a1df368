// Under load nothing leaks: sequential and concurrent storms, random aborts, failing spawns
// mixed with good ones, on both backends. Measured across batches after warm-up.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AbortError, ExitError, newNsenter, type NSEnter } from "../../src/index";
import { testedBackends } from "../support/backends";
import {
  childProcesses,
  describePrivileged,
  makeTarget,
  newFds,
  openFds,
  zombies,
  type Target,
} from "../support/namespace";

// Sequential runs per backend; the binary backend is ~3x slower, so it gets fewer.
// Under ASan (npm run test:asan) RSS is not a measure of leaks.
const ASAN = process.env.NSENTER_ASAN === "1";

// Six batches each: two to warm up (allocator arenas and V8's young generation grow at first),
// four measured.
const SEQUENTIAL = { native: 9000, binary: 2400 } as const;
// A per-run leak of this many bytes would show over the measured runs, above allocator noise.
const LEAK_BYTES_PER_RUN = { native: 1024, binary: 2048 } as const;
const CONCURRENT = 1000;
const IN_FLIGHT = 64;

// Children other than the namespace holder: none may outlive its run.
function children(holder: number): number[] {
  return childProcesses()
    .map((c) => c.pid)
    .filter((pid) => pid !== holder);
}

async function settle(): Promise<void> {
  await new Promise((r) => setTimeout(r, 100));
  (globalThis as { gc?: () => void }).gc?.();
}

async function pool<T>(n: number, width: number, fn: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array(n);
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      for (let i = next++; i < n; i = next++) out[i] = await fn(i);
    }),
  );
  return out;
}

describePrivileged("stress", () => {
  let target: Target;
  beforeAll(async () => {
    target = await makeTarget();
  });
  afterAll(async () => {
    await target?.close();
  });

  describe.each(testedBackends().run)("%s", (backend) => {
    let ne: NSEnter;
    beforeAll(() => {
      ne = newNsenter(target.root, undefined, { backend, stopGracePeriodMs: 200 });
    });

    it(`${SEQUENTIAL[backend]} sequential runs leave fds, zombies and memory flat`, async () => {
      const n = SEQUENTIAL[backend];
      const batch = n / 6;
      for (let i = 0; i < 2 * batch; i++) await ne.command("echo", String(i)).output(); // warm-up
      await settle();
      const fds = openFds();
      const rss: number[] = [process.memoryUsage().rss];
      for (let b = 0; b < 4; b++) {
        for (let i = 0; i < batch; i++) {
          const out = await ne.command("echo", String(i)).output();
          if (out.toString() !== `${i}\n`) throw new Error(`run ${i}: ${out}`);
        }
        await settle();
        rss.push(process.memoryUsage().rss);
      }
      expect(newFds(fds)).toEqual([]);
      expect(zombies()).toEqual([]);
      if (ASAN) return; // ASan's quarantine keeps freed memory: RSS says nothing there
      // Flat: growth over the measured runs stays below what a small per-run leak would add
      // (native: 6000 runs x 1 KiB = 5.9 MiB; binary: 1600 runs x 2 KiB = 3.1 MiB).
      const growth = rss[4]! - rss[0]!;
      expect(growth).toBeLessThan(4 * batch * LEAK_BYTES_PER_RUN[backend]);
    });

    it(`${CONCURRENT} runs at ${IN_FLIGHT} in flight, all correct, nothing left behind`, async () => {
      await pool(IN_FLIGHT, IN_FLIGHT, () => ne.command("true").run()); // warm-up
      await settle();
      const fds = openFds();
      const outs = await pool(CONCURRENT, IN_FLIGHT, async (i) => {
        const c = ne.command("cat");
        c.setStdin(`payload ${i}`);
        return (await c.output()).toString();
      });
      outs.forEach((o, i) => expect(o).toBe(`payload ${i}`));
      await settle();
      expect(newFds(fds)).toEqual([]);
      expect(zombies()).toEqual([]);
      expect(children(target.pid)).toEqual([]);
    });

    it("hundreds of aborts at random moments all reject with AbortError and leave no process", async () => {
      await settle();
      const fds = openFds();
      const results = await pool(300, 32, async (i) => {
        const ac = new AbortController();
        const mode = i % 3;
        // before start / mid-output / while the child ignores SIGTERM
        if (mode === 0) ac.abort(new Error(`early ${i}`));
        const c =
          mode === 2
            ? ne.commandContext(ac.signal, "sh", "-c", "trap '' TERM; while :; do sleep 0.01; done")
            : ne.commandContext(ac.signal, "sh", "-c", "while :; do echo tick; sleep 0.001; done");
        const out = c.stdoutPipe();
        out.resume();
        if (mode !== 0) setTimeout(() => ac.abort(new Error(`late ${i}`)), Math.random() * 30);
        const err = await c.run().catch((e) => e);
        return {
          i,
          ok: err instanceof AbortError && (err.cause as Error).message.endsWith(String(i)),
        };
      });
      expect(results.filter((r) => !r.ok)).toEqual([]);
      await settle();
      expect(children(target.pid)).toEqual([]);
      expect(zombies()).toEqual([]);
      expect(newFds(fds)).toEqual([]);
    });

    it("stop() escalates to SIGKILL for children that ignore SIGTERM, under load", async () => {
      // A grace period long enough for 40 loaded shells to run their trap (it runs only once
      // the current `sleep` has returned).
      const slow = newNsenter(target.root, undefined, { backend, stopGracePeriodMs: 2000 });
      const results = await pool(40, 40, async () => {
        // The trap proves SIGTERM came first; the end by SIGKILL proves the escalation.
        const c = slow.command(
          "sh",
          "-c",
          "trap 'echo got-term' TERM; echo up; while :; do sleep 0.01; done",
        );
        const out = c.stdoutPipe();
        let text = "";
        out.on("data", (d: Buffer) => (text += d.toString()));
        await c.start();
        while (!text.includes("up")) await new Promise((r) => setTimeout(r, 5));
        c.stop();
        const err = await c.wait().catch((e) => e);
        await new Promise((r) => setImmediate(r));
        return `${text.includes("got-term") ? "term" : "no-term"}/${err instanceof ExitError ? err.signal : String(err)}`;
      });
      expect(new Set(results)).toEqual(new Set(["term/SIGKILL"]));
      expect(zombies()).toEqual([]);
    });

    it("failing spawns mixed with good ones: the right code for each, nothing leaks", async () => {
      const noexec = join(target.privateDir, "..", `stress-noexec-${backend}`);
      writeFileSync(noexec, "#!/bin/sh\n", { mode: 0o644 });
      await settle();
      const fds = openFds();
      const kinds = ["ok", "enoent", "eacces", "exit", "dir", "nul"] as const;
      const results = await pool(600, 32, async (i) => {
        const kind = kinds[i % kinds.length]!;
        try {
          switch (kind) {
            case "ok":
              return (await ne.command("echo", String(i)).output()).toString() === `${i}\n`
                ? "ok"
                : "bad";
            case "enoent":
              await ne.command(`/nonexistent/${i}`).run();
              return "ran";
            case "eacces":
              await ne.command(noexec).run();
              return "ran";
            case "exit":
              await ne.command("sh", "-c", `exit ${(i % 200) + 1}`).run();
              return "ran";
            case "dir": {
              const c = ne.command("true");
              c.setDir(`/nonexistent-dir-${i}`);
              await c.run();
              return "ran";
            }
            case "nul":
              await ne.command("echo", "a\0b").run();
              return "ran";
          }
        } catch (e) {
          const err = e as { code?: string; syscall?: string };
          if (kind === "enoent")
            return err.code === "ENOENT" && err.syscall === "execve" ? "ok" : JSON.stringify(err);
          if (kind === "eacces")
            return err.code === "EACCES" && err.syscall === "execve" ? "ok" : JSON.stringify(err);
          if (kind === "exit")
            return e instanceof ExitError && e.exitStatus() === (i % 200) + 1 ? "ok" : String(e);
          if (kind === "dir")
            return err.code === "ENOENT" && err.syscall === "chdir" ? "ok" : JSON.stringify(err);
          if (kind === "nul")
            return err.code === "ERR_INVALID_ARG_VALUE" ? "ok" : JSON.stringify(err);
          return String(e);
        }
      });
      expect(results.filter((r) => r !== "ok")).toEqual([]);
      await settle();
      expect(newFds(fds)).toEqual([]);
      expect(zombies()).toEqual([]);
    });

    it("a child killed from outside with kill -9 is an ExitError 'signal: killed'", async () => {
      const c = ne.command("sleep", "30");
      await c.start();
      process.kill(c.pid!, "SIGKILL");
      const err = await c.wait().catch((e) => e);
      expect(err).toBeInstanceOf(ExitError);
      expect(err.message).toBe("signal: killed");
    });

    it("a stdin writer whose child exits without reading: no EPIPE crash, for many runs", async () => {
      const big = Buffer.alloc(1024 * 1024, 0x61);
      const results = await pool(100, 16, async (i) => {
        const c = ne.command("sh", "-c", `head -c ${i} >/dev/null`);
        c.setStdin(big);
        await c.run();
        return "ok";
      });
      expect(results.every((r) => r === "ok")).toBe(true);
    });
  });
});
