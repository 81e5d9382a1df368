// The binary backend: util-linux nsenter's own failures become typed errors and are never
// confused with the command's exit status; the working directory is entered in the target.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { ExitError, newNsenter, type NSEnter } from "../../src/index";
import { requestedBackends } from "../support/backends";
import { describePrivileged, makeTarget, type Target } from "../support/namespace";
import { sink } from "../support/streams";

describePrivileged("binary backend (util-linux nsenter)", () => {
  if (!requestedBackends().includes("binary")) {
    it.skip("NSENTER_TEST_BACKENDS excludes binary", () => {});
    return;
  }
  let target: Target;
  let ne: NSEnter;
  beforeAll(async () => {
    target = await makeTarget();
    ne = newNsenter(target.root, undefined, { backend: "binary" });
  });
  afterAll(async () => {
    await target?.close();
  });

  it("is the backend in use", () => {
    expect(ne.backend).toBe("binary");
  });

  it("nsenter's exit 127 for a missing program is ENOENT; the command's own 127 is an ExitError", async () => {
    const missing = await ne
      .command("/missing/tool")
      .run()
      .catch((e) => e);
    expect(missing).not.toBeInstanceOf(ExitError);
    expect(missing).toMatchObject({
      code: "ENOENT",
      errno: -2,
      syscall: "execve",
      path: "/missing/tool",
    });
    const own = await ne
      .command("sh", "-c", "exit 127")
      .run()
      .catch((e) => e);
    expect(own).toBeInstanceOf(ExitError);
    expect(own.exitStatus()).toBe(127);
  });

  it("a command printing nsenter's message for another path keeps its exit status and stderr", async () => {
    const line = "nsenter: failed to execute /somewhere/else: No such file or directory\n";
    const c = ne.command("sh", "-c", `printf '%s' '${line.trim()}' >&2; echo >&2; exit 127`);
    const err = sink();
    c.setStderr(err.stream);
    const e = await c.run().catch((x) => x);
    expect(e).toBeInstanceOf(ExitError);
    expect(e.exitStatus()).toBe(127);
    expect(err.text()).toBe(line);
  });

  it("the command's own nsenter failing to join another namespace stays its exit status", async () => {
    const c = ne.command("nsenter", `--net=${target.nsPath}`, "--", "true");
    const err = sink();
    c.setStderr(err.stream);
    const e = await c.run().catch((x) => x);
    expect(e).toBeInstanceOf(ExitError);
    expect(e.exitStatus()).toBe(1);
    expect(err.text()).toBe(
      "nsenter: reassociate to namespace 'ns/net' failed: Invalid argument\n",
    );
  });

  it("stderr that merely starts like nsenter's is passed through whole", async () => {
    for (const text of [
      "nsen",
      "nsenter: something else\nmore\n",
      "nsenter: cannot open /x: Permission denied\n",
    ]) {
      const c = ne.command("sh", "-c", `printf '%s' "$1" >&2; exit 1`, "sh", text);
      const err = sink();
      c.setStderr(err.stream);
      const e = await c.run().catch((x) => x);
      expect(e).toBeInstanceOf(ExitError);
      expect(err.text()).toBe(text);
    }
  });

  it("a 0644 script is EACCES", async () => {
    const script = join(target.privateDir, "..", "binary-0644.sh");
    writeFileSync(script, "#!/bin/sh\necho ran\n", { mode: 0o644 });
    await expect(ne.command(script).run()).rejects.toMatchObject({
      code: "EACCES",
      syscall: "execve",
    });
  });

  it("setDir is resolved in the target (util-linux --wd would use the caller's)", async () => {
    target.sh('echo target > "$1/m"', target.privateDir);
    writeFileSync(join(target.privateDir, "m"), "caller\n");
    const c = ne.command("cat", "m");
    c.setDir(target.privateDir);
    expect((await c.output()).toString()).toBe("target\n");
  });

  it("a directory that exists only in the caller's namespace is ENOENT", async () => {
    mkdirSync(join(target.privateDir, "caller-only"), { recursive: true });
    const c = ne.command("true");
    c.setDir(join(target.privateDir, "caller-only"));
    await expect(c.run()).rejects.toMatchObject({ code: "ENOENT", syscall: "chdir" });
    const f = ne.command("true");
    target.sh(': > "$1/a-file"', target.privateDir);
    f.setDir(join(target.privateDir, "a-file"));
    await expect(f.run()).rejects.toMatchObject({ code: "ENOTDIR", syscall: "chdir" });
  });

  it("with a dir, missing and non-executable programs are still ENOENT and EACCES", async () => {
    const c = ne.command("/missing/tool");
    c.setDir("/");
    await expect(c.run()).rejects.toMatchObject({
      code: "ENOENT",
      syscall: "execve",
      path: "/missing/tool",
    });
    const bare = ne.command("no-such-tool-here");
    bare.setDir("/");
    await expect(bare.run()).rejects.toMatchObject({ code: "ENOENT", path: "no-such-tool-here" });
    target.sh('printf "#!/bin/sh\\n" > "$1/noexec"; chmod 644 "$1/noexec"', target.privateDir);
    const n = ne.command(join(target.privateDir, "noexec"));
    n.setDir("/");
    await expect(n.run()).rejects.toMatchObject({ code: "EACCES", syscall: "execve" });
  });

  it("with a dir, the environment is exactly the one given", async () => {
    const c = ne.command("env");
    c.setDir(target.privateDir);
    c.setEnv(["A=1", "PATH=/usr/bin:/bin"]);
    expect((await c.output()).toString()).toBe("A=1\nPATH=/usr/bin:/bin\n");
    const p = ne.command("env");
    p.setDir(target.privateDir);
    p.setEnv(["PWD=/given", "B=it's"]);
    expect((await p.output()).toString().split("\n").sort()).toEqual(["", "B=it's", "PWD=/given"]);
  });

  it("a missing nsenter program is ENOENT naming it", async () => {
    const other = newNsenter(target.root, undefined, {
      backend: "binary",
      nsenterPath: "/no/nsenter",
    });
    await expect(other.command("true").run()).rejects.toMatchObject({
      code: "ENOENT",
      syscall: "execve",
      path: "/no/nsenter",
    });
  });

  it("the pid is the command's own (nsenter execs it)", async () => {
    const c = ne.command("sh", "-c", "echo $$");
    const out = c.stdoutPipe();
    await c.start();
    let text = "";
    for await (const chunk of out) text += chunk;
    await c.wait();
    expect(Number(text.trim())).toBe(c.pid);
  });
});
