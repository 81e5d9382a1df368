// Property tests: whatever argv, environment and stdin bytes go in come out exactly, through
// printf, env and cat running in the target namespace.
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, it } from "vitest";
import { newNsenter, type NSEnter } from "../../src/index";
import { testedBackends } from "../support/backends";
import { describePrivileged, makeTarget, type Target } from "../support/namespace";

// Any Unicode text without NUL (the one byte execve cannot carry).
const text = fc.string({ unit: "binary", maxLength: 64 }).filter((s) => !s.includes("\0"));
const envName = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,15}$/);

describePrivileged("round trips", () => {
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
      ne = newNsenter(target.root, undefined, { backend });
    });

    it("argv: printf '%s\\0' prints each argument back", async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(text, { maxLength: 12 }), async (args) => {
          const out = await ne.command("printf", "%s\\0", "first", ...args).output();
          const got = out.toString("utf8").split("\0").slice(0, -1);
          if (JSON.stringify(got) !== JSON.stringify(["first", ...args])) {
            throw new Error(`sent ${JSON.stringify(args)}, got ${JSON.stringify(got.slice(1))}`);
          }
        }),
        { numRuns: 150 },
      );
    });

    it("env: `env -0` prints the environment given, each key once with its last value", async () => {
      // Keys from a small set, so repeats are common; values any text, empty entries too.
      const entry = fc.oneof(
        fc.tuple(fc.constantFrom("A", "B", "PATH_X", "Z_9"), text).map(([k, v]) => `${k}=${v}`),
        fc.tuple(envName, text).map(([k, v]) => `${k}=${v}`),
        fc.constant(""),
      );
      await fc.assert(
        fc.asyncProperty(fc.array(entry, { maxLength: 12 }), async (env) => {
          // Expected, stated independently: a map in order of each key's last assignment.
          const last = new Map<string, string>();
          for (const e of env) {
            if (e === "") continue;
            const k = e.slice(0, e.indexOf("="));
            last.delete(k);
            last.set(k, e);
          }
          const c = ne.command("/usr/bin/env", "-0");
          c.setEnv(env);
          const got = (await c.output()).toString("utf8").split("\0").slice(0, -1);
          const want = [...last.values()];
          if (JSON.stringify(got) !== JSON.stringify(want)) {
            throw new Error(`sent ${JSON.stringify(env)}, got ${JSON.stringify(got)}`);
          }
        }),
        { numRuns: 150 },
      );
    });

    it("paths: any directory name made in the target is entered by setDir", async () => {
      const name = fc
        .string({ unit: "binary", minLength: 1, maxLength: 40 })
        .filter(
          (s) =>
            !s.includes("\0") &&
            !s.includes("/") &&
            s !== "." &&
            s !== ".." &&
            Buffer.byteLength(s) <= 255,
        );
      let n = 0;
      await fc.assert(
        fc.asyncProperty(name, async (leaf) => {
          const dir = join(target.privateDir, `p${backend}${n++}`, leaf);
          target.sh('mkdir -p -- "$1"', dir);
          const c = ne.command("pwd", "-P");
          c.setDir(dir);
          const got = (await c.output()).toString("utf8");
          if (got !== `${dir}\n`)
            throw new Error(`dir ${JSON.stringify(dir)}, pwd ${JSON.stringify(got)}`);
        }),
        { numRuns: 60 },
      );
    });

    it("stdin: cat returns the bytes it was given", async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(
            fc.uint8Array({ maxLength: 4096 }),
            fc.uint8Array({ minLength: 65536, maxLength: 300_000 }),
          ),
          async (bytes) => {
            const c = ne.command("cat");
            c.setStdin(Buffer.from(bytes));
            const out = await c.output();
            if (Buffer.compare(out, Buffer.from(bytes)) !== 0) {
              throw new Error(`sent ${bytes.length} bytes, got ${out.length} different ones`);
            }
          },
        ),
        { numRuns: 100 },
      );
    });
  });
});
