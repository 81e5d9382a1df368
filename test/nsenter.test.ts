// NSEnter: the Go package's own test tables (nsenter_test.go), run in a real private mount
// namespace on both backends, and the contract rows of DESIGN.md.
import { spawn } from "node:child_process";
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readlinkSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  DEFAULT_HOST_ROOTFS_PATH,
  ExitError,
  goJoin,
  isExecutableNotFound,
  nativeAvailable,
  newExec,
  newFakeNsenter,
  newNsenter,
} from "../src/index";
import { describePrivileged, makeTarget, type Target } from "./support/namespace";
import { testedBackends } from "./support/backends";
import { runNode } from "./support/subprocess";

const TOOLS = [
  "mount",
  "findmnt",
  "umount",
  "systemd-run",
  "stat",
  "touch",
  "mkdir",
  "sh",
  "chmod",
  "realpath",
];

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), "nsenter-hostpath-"));
}

describe("newNsenter (TestNewNsenter, TestNewNsenterError)", () => {
  it("finds every tool under a root that links to /", () => {
    const dir = tempDir();
    try {
      const rootfs = join(dir, "rootfs");
      symlinkSync("/", rootfs);
      const ne = newNsenter(rootfs, newExec());
      expect(ne.hostRootFsPath).toBe(rootfs);
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  it("fails with Go's message under an empty root", () => {
    const dir = tempDir();
    try {
      expect(() => newNsenter(dir, newExec())).toThrow(/^unable to find mount$/);
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  it("searches / /bin /usr/sbin /usr/bin in that order; systemd-run is optional", () => {
    const dir = tempDir();
    try {
      for (const d of ["bin", "usr/sbin", "usr/bin"]) mkdirSync(join(dir, d), { recursive: true });
      for (const tool of TOOLS) {
        if (tool === "systemd-run") continue;
        writeFileSync(join(dir, "usr/bin", tool), "");
      }
      writeFileSync(join(dir, "usr/sbin", "mount"), ""); // /usr/sbin wins over /usr/bin
      writeFileSync(join(dir, "findmnt"), ""); // / wins over everything
      writeFileSync(join(dir, "bin", "sh"), "");
      const ne = newNsenter(dir, newExec());
      expect(ne.absHostPath("mount")).toBe("/usr/sbin/mount");
      expect(ne.absHostPath("findmnt")).toBe("/findmnt");
      expect(ne.absHostPath("sh")).toBe("/bin/sh");
      expect(ne.absHostPath("realpath")).toBe("/usr/bin/realpath");
      expect(ne.absHostPath("iscsiadm")).toBe("iscsiadm");
      expect(ne.supportsSystemd()).toEqual(["", false]);

      rmSync(join(dir, "usr/bin", "chmod"));
      expect(() => newNsenter(dir, newExec())).toThrow(/^unable to find chmod$/);
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  it("supportsSystemd reports systemd-run's host path when present", () => {
    const dir = tempDir();
    try {
      symlinkSync("/", join(dir, "rootfs"));
      const ne = newNsenter(join(dir, "rootfs"), newExec());
      const [path, ok] = ne.supportsSystemd();
      expect(ok).toBe(true);
      expect(path).toMatch(/\/systemd-run$/);
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  it("DEFAULT_HOST_ROOTFS_PATH is Go's /rootfs", () => {
    expect(DEFAULT_HOST_ROOTFS_PATH).toBe("/rootfs");
  });

  it("rejects an unknown backend", () => {
    const dir = tempDir();
    try {
      symlinkSync("/", join(dir, "rootfs"));
      expect(() =>
        newNsenter(join(dir, "rootfs"), undefined, { backend: "fast" as "native" }),
      ).toThrow(expect.objectContaining({ code: "ERR_INVALID_ARG_VALUE" }));
    } finally {
      rmSync(dir, { recursive: true });
    }
  });
});

describe("kubeletPath (TestKubeletPath)", () => {
  it.each([
    ["/rootfs", "/some/path", "/rootfs/some/path"], // simple join
    ["/rootfs/", "//some/path", "/rootfs/some/path"], // squash slashes
  ])("goJoin(%s, %s) = %s", (rootfs, hostpath, expected) => {
    expect(goJoin(rootfs, hostpath)).toBe(expected);
  });

  it("joins and cleans like Go's filepath.Join", () => {
    expect(goJoin("/a/", "b/", "../c/")).toBe("/a/c");
    expect(goJoin("", "")).toBe("");
    expect(goJoin("/", "")).toBe("/");
    expect(goJoin("a", "/b")).toBe("a/b");
  });

  it("of an NSEnter, for each root spelling", () => {
    const dir = tempDir();
    try {
      symlinkSync("/", join(dir, "rootfs"));
      for (const root of [join(dir, "rootfs"), `${join(dir, "rootfs")}/`]) {
        const ne = newNsenter(root, newExec());
        expect(ne.kubeletPath("//some/path/")).toBe(`${dir}/rootfs/some/path`);
      }
    } finally {
      rmSync(dir, { recursive: true });
    }
  });
});

describe("newFakeNsenter", () => {
  it("lays out bin, usr/bin, usr/sbin and runs commands in the caller's namespace", async () => {
    const dir = tempDir();
    try {
      const ne = newFakeNsenter(dir);
      expect(ne.backend).toBe("binary");
      const out = await ne.command("readlink", "/proc/self/ns/mnt").output();
      expect(out.toString().trim()).toBe(readlinkSync("/proc/self/ns/mnt"));
      expect(ne.absHostPath("mount")).toMatch(/^\/(usr\/)?s?bin\/mount$/);
      expect(await ne.evalSymlinks(join(dir, "bin", "sh"), true)).toBe(realpathSync("/bin/sh"));
    } finally {
      rmSync(dir, { recursive: true });
    }
  });
});

describePrivileged("NSEnter in a private mount namespace", () => {
  let target: Target;
  beforeAll(async () => {
    target = await makeTarget();
  });
  afterAll(async () => {
    await target?.close();
  });

  it("picks native by default when the addon loaded, binary with a custom executor", () => {
    const auto = newNsenter(target.root);
    expect(auto.backend).toBe(nativeAvailable() ? "native" : "binary");
    const custom = newNsenter(target.root, {
      command: () => undefined,
      commandContext: () => undefined,
      lookPath: async () => "",
    } as never);
    expect(custom.backend).toBe("binary");
    expect(newNsenter(target.root, newExec()).backend).toBe(
      nativeAvailable() ? "native" : "binary",
    );
    expect(newNsenter(target.root, undefined, { backend: "binary" }).backend).toBe("binary");
  });

  for (const reason of testedBackends().skipped) it.skip(reason, () => {});

  describe.each(testedBackends().run)("%s", (backend) => {
    const ne = () => newNsenter(target.root, undefined, { backend });

    // TestExec
    it.each([
      ["simple command", "echo", ["hello", "world"], "hello world\n", false],
      ["nozero exit code", "false", [], "", true],
    ] as const)("exec: %s", async (_name, command, args, expected, expectError) => {
      const cmd = ne().exec(command, [...args]);
      const result = await cmd.combinedOutput().then(
        (out) => ({ out: out.toString(), err: null }),
        (err) => ({ out: "", err }),
      );
      if (expectError) {
        expect(result.err).toBeInstanceOf(ExitError);
      } else {
        expect(result.err).toBeNull();
        expect(result.out).toBe(expected);
      }
    });

    it("runs in the target namespace: sees its files, not the caller's", async () => {
      target.sh('echo only-in-target > "$1/seen"', target.privateDir);
      const out = await ne().command("cat", join(target.privateDir, "seen")).output();
      expect(out.toString()).toBe("only-in-target\n");
      const mine = await ne().command("readlink", "/proc/self/ns/mnt").output();
      expect(mine.toString().trim()).toBe(target.sh("readlink /proc/self/ns/mnt").trim());
    });

    // TestEvalSymlinks: each row prepared inside the target namespace, where the caller
    // cannot see the files.
    const rows: {
      name: string;
      mustExist: boolean;
      prepare: string; // shell, $1 = tmpdir; prints "src dst"
      expectError?: string;
    }[] = [
      {
        name: "simple file /src",
        mustExist: true,
        prepare: ': > "$1/src"; echo "$1/src $1/src"',
      },
      {
        name: "non-existing file /src",
        mustExist: true,
        prepare: 'echo "$1/src -"',
        expectError: "ENOENT",
      },
      {
        name: "non-existing file /src/ with mustExist=false",
        mustExist: false,
        prepare: 'echo "$1/src $1/src"',
      },
      {
        name: "non-existing file /existing/path/src with mustExist=false with existing directories",
        mustExist: false,
        prepare: 'mkdir -p "$1/existing/path"; echo "$1/existing/path/src $1/existing/path/src"',
      },
      {
        name: "simple symlink /src -> /dst",
        mustExist: false,
        prepare: ': > "$1/dst"; ln -s "$1/dst" "$1/src"; echo "$1/src $1/dst"',
      },
      {
        name: "dangling symlink /src -> /non-existing-path",
        mustExist: true,
        prepare: 'ln -s "$1/non-existing-path" "$1/src"; echo "$1/src -"',
        expectError: "ENOENT",
      },
      {
        name: "dangling symlink /src -> /non-existing-path with mustExist=false",
        mustExist: false,
        prepare: 'ln -s "$1/non-existing-path" "$1/src"; echo "$1/src $1/non-existing-path"',
      },
      {
        name: "symlink to directory /src/file, where /src is link to /dst",
        mustExist: true,
        prepare:
          'mkdir "$1/dst"; : > "$1/dst/file"; ln -s "$1/dst" "$1/src"; echo "$1/src/file $1/dst/file"',
      },
      {
        name: "symlink to non-existing directory: /src/file, where /src is link to /dst and dst does not exist",
        mustExist: true,
        prepare: 'ln -s "$1/dst" "$1/src"; echo "$1/src/file -"',
        expectError: "ENOENT",
      },
      {
        name: "symlink to non-existing directory: /src/file, where /src is link to /dst and dst does not exist with mustExist=false",
        mustExist: false,
        prepare: 'ln -s "$1/dst" "$1/src"; echo "$1/src/file $1/dst/file"',
      },
    ];
    let rowNo = 0;
    it.each(rows)("evalSymlinks: $name", async (row) => {
      const tmp = join(target.privateDir, `eval-${backend}-${rowNo++}`);
      const [src, dst] = target.sh(`mkdir "$1"; ${row.prepare}`, tmp).trim().split(" ") as [
        string,
        string,
      ];
      const result = ne().evalSymlinks(src, row.mustExist);
      if (row.expectError) {
        await expect(result).rejects.toMatchObject({
          code: row.expectError,
          syscall: "realpath",
          path: src,
        });
      } else {
        expect(await result).toBe(dst);
      }
    });

    it("evalSymlinks takes a path starting with '-' as a path", async () => {
      await expect(ne().evalSymlinks("--help", true)).rejects.toMatchObject({
        code: "ENOENT",
        path: "--help",
      });
    });

    it("wrong argument types are ERR_INVALID_ARG_TYPE", () => {
      expect(() => ne().exec("echo", "abc" as never)).toThrow(
        expect.objectContaining({ code: "ERR_INVALID_ARG_TYPE" }),
      );
      expect(() => ne().exec("echo", null as never)).toThrow(
        expect.objectContaining({ code: "ERR_INVALID_ARG_TYPE" }),
      );
      expect(() => ne().command("echo", 5 as never)).toThrow(
        expect.objectContaining({ code: "ERR_INVALID_ARG_TYPE" }),
      );
      expect(() => ne().command(undefined as never)).toThrow(
        expect.objectContaining({ code: "ERR_INVALID_ARG_TYPE" }),
      );
    });

    it("evalSymlinks reports ELOOP and EACCES", async () => {
      const tmp = join(target.privateDir, `eval-errors-${backend}`);
      target.sh('mkdir "$1"; ln -s "$1/loop" "$1/loop"', tmp);
      await expect(ne().evalSymlinks(join(tmp, "loop"), true)).rejects.toMatchObject({
        code: "ELOOP",
      });
      await expect(ne().evalSymlinks(join(tmp, "loop", "x"), false)).resolves.toBeTypeOf("string");
      target.sh('mkdir -m 000 "$1/locked"; mkdir "$1/locked/in"', tmp);
      const r = runNode(
        `const ne = lib.newNsenter(${JSON.stringify(target.root)}, undefined, { backend: ${JSON.stringify(backend)} });
         try { done(await ne.evalSymlinks(${JSON.stringify(join(tmp, "locked", "in"))}, true)); } catch (e) { done({ code: e.code, syscall: e.syscall }); }`,
        { dropCaps: ["dac_override", "dac_read_search"] },
      );
      expect(r.result).toEqual({ code: "EACCES", syscall: "realpath" });
    });

    it("lookPath searches the host PATH under the root, skipping non-executables", async () => {
      const root = mkdtempSync(join(tmpdir(), "lookpath-"));
      try {
        symlinkSync(target.nsPath, join(root, "ns")); // unused: lookPath reads the files only
        for (const d of ["usr/sbin", "usr/bin", "bin", "sbin"])
          mkdirSync(join(root, d), { recursive: true });
        for (const tool of TOOLS) {
          writeFileSync(join(root, "usr/bin", tool), "");
          chmodSync(join(root, "usr/bin", tool), 0o755);
        }
        writeFileSync(join(root, "usr/sbin", "tool"), "not executable");
        mkdirSync(join(root, "usr/bin", "tool")); // a directory is skipped too
        writeFileSync(join(root, "sbin", "tool"), "#!/bin/sh\n");
        chmodSync(join(root, "sbin", "tool"), 0o755);
        const n = newNsenter(root, undefined, { backend });
        expect(await n.lookPath("tool")).toBe("/sbin/tool");
        expect(await n.lookPath("mount")).toBe("/usr/bin/mount");
        expect(await n.lookPath("/sbin/tool")).toBe("/sbin/tool");
        const err = await n.lookPath("no-such-tool").catch((e) => e);
        expect(err.message).toBe('exec: "no-such-tool": executable file not found in $PATH');
        expect(err.code).toBe("ENOENT");
        expect(isExecutableNotFound(err)).toBe(true);
      } finally {
        rmSync(root, { recursive: true });
      }
    });

    it("a missing namespace file is ENOENT from open, with its path", async () => {
      const root = mkdtempSync(join(tmpdir(), "nsroot-"));
      try {
        for (const l of ["bin", "usr"]) symlinkSync(`/${l}`, join(root, l));
        const err = await newNsenter(root, undefined, { backend })
          .command("true")
          .run()
          .catch((e) => e);
        expect(err).toMatchObject({
          code: "ENOENT",
          errno: -2,
          syscall: "open",
          path: `${root}/proc/1/ns/mnt`,
        });
        expect(err.message).toBe(`ENOENT: no such file or directory, open '${root}/proc/1/ns/mnt'`);
      } finally {
        rmSync(root, { recursive: true });
      }
    });

    it("a namespace file of another type is EINVAL from setns", async () => {
      const root = mkdtempSync(join(tmpdir(), "nsroot-"));
      try {
        for (const l of ["bin", "usr"]) symlinkSync(`/${l}`, join(root, l));
        mkdirSync(join(root, "proc/1/ns"), { recursive: true });
        symlinkSync(`/proc/${target.pid}/ns/net`, join(root, "proc/1/ns/mnt"));
        const err = await newNsenter(root, undefined, { backend })
          .command("true")
          .run()
          .catch((e) => e);
        expect(err).toMatchObject({
          code: "EINVAL",
          errno: -22,
          syscall: "setns",
          path: `${root}/proc/1/ns/mnt`,
        });
      } finally {
        rmSync(root, { recursive: true });
      }
    });

    it("a target process that has exited is ENOENT", async () => {
      const gone = spawn("true");
      await new Promise((r) => gone.once("exit", r));
      const root = mkdtempSync(join(tmpdir(), "nsroot-"));
      try {
        for (const l of ["bin", "usr"]) symlinkSync(`/${l}`, join(root, l));
        mkdirSync(join(root, "proc/1/ns"), { recursive: true });
        symlinkSync(`/proc/${gone.pid}/ns/mnt`, join(root, "proc/1/ns/mnt"));
        const err = await newNsenter(root, undefined, { backend })
          .command("true")
          .run()
          .catch((e) => e);
        expect(err).toMatchObject({ code: "ENOENT", syscall: "open" });
      } finally {
        rmSync(root, { recursive: true });
      }
    });

    it("without CAP_SYS_ADMIN, setns is EPERM", () => {
      const r = runNode(
        `const ne = lib.newNsenter(${JSON.stringify(target.root)}, undefined, { backend: ${JSON.stringify(backend)} });
         try { await ne.command("true").run(); done("ran"); } catch (e) { done({ code: e.code, errno: e.errno, syscall: e.syscall, path: e.path }); }`,
        { dropCaps: ["sys_admin"] },
      );
      expect(r.result).toEqual({
        code: "EPERM",
        errno: -1,
        syscall: "setns",
        path: target.root + "/proc/1/ns/mnt",
      });
    });

    it("an unreadable namespace file is EACCES from open", () => {
      const root = mkdtempSync(join(tmpdir(), "nsroot-"));
      try {
        for (const l of ["bin", "usr"]) symlinkSync(`/${l}`, join(root, l));
        mkdirSync(join(root, "proc/1/ns"), { recursive: true });
        writeFileSync(join(root, "proc/1/ns/mnt"), "");
        chmodSync(join(root, "proc/1/ns/mnt"), 0o000);
        const r = runNode(
          `const ne = lib.newNsenter(${JSON.stringify(root)}, undefined, { backend: ${JSON.stringify(backend)} });
           try { await ne.command("true").run(); done("ran"); } catch (e) { done({ code: e.code, syscall: e.syscall, path: e.path }); }`,
          { dropCaps: ["dac_override", "dac_read_search"] },
        );
        expect(r.result).toEqual({
          code: "EACCES",
          syscall: "open",
          path: `${root}/proc/1/ns/mnt`,
        });
      } finally {
        rmSync(root, { recursive: true });
      }
    });

    it("a bare command name is searched on PATH inside the target namespace", async () => {
      const bin = join(target.privateDir, `bin-${backend}`);
      target.sh(
        'mkdir "$1"; printf "#!/bin/sh\\necho target-tool\\n" > "$1/only-here"; chmod 755 "$1/only-here"',
        bin,
      );
      const c = ne().command("only-here");
      c.setEnv([`PATH=/usr/bin:${bin}`]);
      expect((await c.output()).toString()).toBe("target-tool\n");
    });
  });
});
