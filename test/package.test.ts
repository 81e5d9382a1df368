// The package as a user gets it: the built dist/ loaded by name ("node-nsenter",
// "node-nsenter/testing") from separate node processes, its type declarations, and how it
// reports whether the native backend can be used.
import { execFileSync, spawnSync } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const repo = resolve(__dirname, "..");
const tscBin = join(repo, "node_modules", "typescript", "bin", "tsc");

let scratch: string;
/** A host root laid out like newFakeNsenter's: NSEnter finds this machine's tools in it. */
let hostRoot: string;

beforeAll(() => {
  if (
    !existsSync(join(repo, "dist", "index.js")) ||
    !existsSync(join(repo, "dist", "testing.js"))
  ) {
    execFileSync(process.execPath, [tscBin, "-p", "tsconfig.build.json"], { cwd: repo });
  }
  scratch = mkdtempSync(join(tmpdir(), "nsenter-package-"));
  hostRoot = join(scratch, "host");
  mkdirSync(join(hostRoot, "usr"), { recursive: true });
  symlinkSync("/bin", join(hostRoot, "bin"));
  symlinkSync("/usr/bin", join(hostRoot, "usr", "bin"));
  symlinkSync("/usr/sbin", join(hostRoot, "usr", "sbin"));
});

afterAll(() => {
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

interface NodeRun {
  cwd: string;
  env?: Record<string, string>;
  esm?: boolean;
}

/** Runs `code` in a new node process (`node -e`) and returns the JSON it printed last. */
function runNode<T>(code: string, { cwd, env = {}, esm = false }: NodeRun): T {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, HOST_ROOT: hostRoot };
  for (const k of ["NODE_OPTIONS", "NODE_PATH", "NODE_NSENTER_NATIVE", "NODE_NSENTER_ADDON"]) {
    delete childEnv[k];
  }
  Object.assign(childEnv, env);
  const args = esm ? ["--input-type=module", "-e", code] : ["-e", code];
  const r = spawnSync(process.execPath, args, {
    cwd,
    env: childEnv,
    encoding: "utf8",
    timeout: 10_000,
  });
  if (r.status !== 0) {
    throw new Error(`node exited with ${r.status ?? r.signal}:\n${r.stderr}\n${r.stdout}`);
  }
  const lines = r.stdout.trim().split("\n");
  return JSON.parse(lines[lines.length - 1]!) as T;
}

// Describes both entry points from inside the child; `m` is node-nsenter, `t` its testing entry.
const PROBE = `
async function probe(m, t) {
  const names = ["newNsenter", "newFakeNsenter", "newExec", "ExitError", "CodeExitError",
    "isExecutableNotFound", "nativeAvailable", "nativeUnavailableReason"];
  const fexec = new t.FakeExec({
    commandScript: [(cmd, ...args) => t.initFakeCmd(
      new t.FakeCmd({ combinedOutputScript: [() => ["scripted", null, null]] }), cmd, ...args)],
  });
  const ne = m.newNsenter(process.env.HOST_ROOT, fexec);
  const fcmd = ne.command("mount", "-t", "tmpfs");
  return {
    types: Object.fromEntries(names.map((n) => [n, typeof m[n]])),
    testingTypes: Object.fromEntries(["FakeExec", "FakeCmd", "FakeExitError"].map((n) => [n, typeof t[n]])),
    rootfs: m.DEFAULT_HOST_ROOTFS_PATH,
    exitMessage: new m.ExitError(3, null).message,
    codeExitStatus: new m.CodeExitError(new Error("boom"), 4).exitStatus(),
    notFound: m.isExecutableNotFound({ code: "ENOENT", syscall: "lookpath" }),
    found: m.isExecutableNotFound(new Error("other")),
    nativeAvailable: m.nativeAvailable(),
    reason: m.nativeUnavailableReason(),
    echo: (await m.newExec().command("echo", "hi").output()).toString(),
    fakeExit: String(new t.FakeExitError(9)),
    fakeIsExitError: m.isExitError(new t.FakeExitError(9)),
    fakeBackend: ne.backend,
    fakeArgv: fcmd.argv,
    fakeOutput: (await fcmd.combinedOutput()).toString(),
  };
}`;

interface Probe {
  types: Record<string, string>;
  testingTypes: Record<string, string>;
  rootfs: string;
  exitMessage: string;
  codeExitStatus: number;
  notFound: boolean;
  found: boolean;
  nativeAvailable: boolean;
  reason: string | null;
  echo: string;
  fakeExit: string;
  fakeIsExitError: boolean;
  fakeBackend: string;
  fakeArgv: string[];
  fakeOutput: string;
}

function checkProbe(p: Probe): void {
  expect(p.types).toEqual({
    newNsenter: "function",
    newFakeNsenter: "function",
    newExec: "function",
    ExitError: "function",
    CodeExitError: "function",
    isExecutableNotFound: "function",
    nativeAvailable: "function",
    nativeUnavailableReason: "function",
  });
  expect(p.testingTypes).toEqual({
    FakeExec: "function",
    FakeCmd: "function",
    FakeExitError: "function",
  });
  expect(p.rootfs).toBe("/rootfs");
  expect(p.exitMessage).toBe("exit status 3");
  expect(p.codeExitStatus).toBe(4);
  expect(p.notFound).toBe(true);
  expect(p.found).toBe(false);
  expect(typeof p.nativeAvailable).toBe("boolean");
  expect(p.reason === null).toBe(p.nativeAvailable);
  expect(p.echo).toBe("hi\n");
  expect(p.fakeExit).toBe("exit 9");
  expect(p.fakeIsExitError).toBe(true);
  expect(p.fakeBackend).toBe("binary");
  expect(p.fakeArgv.slice(0, 3)).toEqual(["nsenter", `--mount=${hostRoot}/proc/1/ns/mnt`, "--"]);
  expect(p.fakeArgv.slice(4)).toEqual(["-t", "tmpfs"]);
  expect(p.fakeArgv[3]).toMatch(/^\/(usr\/)?(s?bin\/)?mount$/);
  expect(p.fakeOutput).toBe("scripted");
}

describe("loading the package by name", () => {
  it('require("node-nsenter") and require("node-nsenter/testing") load dist/', () => {
    const p = runNode<Probe & { resolved: string[] }>(
      `${PROBE}
      const m = require("node-nsenter");
      const t = require("node-nsenter/testing");
      probe(m, t).then((r) => console.log(JSON.stringify({
        ...r, resolved: [require.resolve("node-nsenter"), require.resolve("node-nsenter/testing")],
      })));`,
      { cwd: repo },
    );
    expect(p.resolved).toEqual([join(repo, "dist", "index.js"), join(repo, "dist", "testing.js")]);
    checkProbe(p);
  });

  it('await import("node-nsenter") and import("node-nsenter/testing") from ESM', () => {
    const p = runNode<Probe & { resolved: string[]; sameAsRequire: boolean }>(
      `${PROBE}
      import { createRequire } from "node:module";
      const m = await import("node-nsenter");
      const t = await import("node-nsenter/testing");
      const required = createRequire(import.meta.url)("node-nsenter");
      const r = await probe(m, t);
      console.log(JSON.stringify({
        ...r,
        resolved: [import.meta.resolve("node-nsenter"), import.meta.resolve("node-nsenter/testing")],
        sameAsRequire: m.newNsenter === required.newNsenter && m.default === required,
      }));`,
      { cwd: repo, esm: true },
    );
    expect(p.resolved).toEqual([
      pathToFileURL(join(repo, "dist", "index.js")).href,
      pathToFileURL(join(repo, "dist", "testing.js")).href,
    ]);
    expect(p.sameAsRequire).toBe(true);
    checkProbe(p);
  });

  it("only the exported subpaths can be loaded", () => {
    const r = runNode<{ code: string }>(
      `try { require("node-nsenter/dist/native.js"); console.log(JSON.stringify({ code: "loaded" })); }
       catch (e) { console.log(JSON.stringify({ code: e.code })); }`,
      { cwd: repo },
    );
    expect(r.code).toBe("ERR_PACKAGE_PATH_NOT_EXPORTED");
  });
});

describe("type declarations", () => {
  it('package.json "types" and "exports" point at declarations that exist', () => {
    const pkg = JSON.parse(readFileSync(join(repo, "package.json"), "utf8")) as {
      name: string;
      main: string;
      types: string;
      exports: Record<string, { types: string; default: string }>;
    };
    expect(pkg.name).toBe("node-nsenter");
    expect(pkg.types).toBe("./dist/index.d.ts");
    expect(pkg.exports["."]).toEqual({ types: "./dist/index.d.ts", default: "./dist/index.js" });
    expect(pkg.exports["./testing"]).toEqual({
      types: "./dist/testing.d.ts",
      default: "./dist/testing.js",
    });
    // "types" comes first: TypeScript takes the first condition that matches.
    expect(Object.keys(pkg.exports["."]!)[0]).toBe("types");
    expect(Object.keys(pkg.exports["./testing"]!)[0]).toBe("types");
    const index = readFileSync(join(repo, pkg.types), "utf8");
    for (const name of [
      "newNsenter",
      "newFakeNsenter",
      "newExec",
      "nativeAvailable",
      "ExitError",
    ]) {
      expect(index).toContain(name);
    }
    const testing = readFileSync(join(repo, pkg.exports["./testing"]!.types), "utf8");
    for (const name of ["class FakeExec", "class FakeCmd", "class FakeExitError"]) {
      expect(testing).toContain(name);
    }
    expect(existsSync(join(repo, pkg.main))).toBe(true);
  });

  it("a TypeScript consumer type-checks against both entry points, with precise types", () => {
    const dir = join(scratch, "consumer");
    mkdirSync(join(dir, "node_modules"), { recursive: true });
    symlinkSync(repo, join(dir, "node_modules", "node-nsenter"));
    writeFileSync(
      join(dir, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          module: "Node16",
          moduleResolution: "Node16",
          target: "ES2022",
          lib: ["ES2022"],
          strict: true,
          noEmit: true,
          types: ["node"],
          typeRoots: [join(repo, "node_modules", "@types")],
        },
        files: ["consumer.ts", "consumer.mts"],
      }),
    );
    const body = `
const exec: Interface = new FakeExec({ commandScript: [] });
const real: Interface = newExec();
const ne: NSEnter = newNsenter("/rootfs", exec, { backend: "binary" });
const backend: "native" | "binary" = ne.backend;
const rootfs: "/rootfs" = DEFAULT_HOST_ROOTFS_PATH;
const available: boolean = nativeAvailable();
const reason: string | null = nativeUnavailableReason();
const status: number = new FakeExitError(1).exitStatus();
const fcmd: FakeCmd = initFakeCmd(new FakeCmd(), "ls");
const err: ExitError = new ExitError(1, null);
// Go's type name is an alias of the class.
const goName: Nsenter = ne;
const code: CodeExitError = new CodeExitError(new Error("boom"), 3);
const notFound: boolean = isExecutableNotFound(code);
export const all = [real, backend, rootfs, available, reason, status, fcmd, err, goName, code, notFound];
// @ts-expect-error nativeAvailable() is a boolean (an untyped module would allow this)
export const wrong: string = nativeAvailable();
`;
    const imports = `import {
  DEFAULT_HOST_ROOTFS_PATH, ExitError, newExec, newNsenter, nativeAvailable,
  nativeUnavailableReason, type Interface, type NSEnter, type Nsenter, CodeExitError,
  isExecutableNotFound,
} from "node-nsenter";
import { FakeCmd, FakeExec, FakeExitError, initFakeCmd } from "node-nsenter/testing";
`;
    writeFileSync(join(dir, "consumer.ts"), imports + body);
    writeFileSync(join(dir, "consumer.mts"), imports + body);
    const r = spawnSync(process.execPath, [tscBin, "-p", "tsconfig.json"], {
      cwd: dir,
      encoding: "utf8",
      timeout: 20_000,
    });
    expect(r.stdout + r.stderr).toBe("");
    expect(r.status).toBe(0);
  });
});

describe("native backend availability", () => {
  interface Availability {
    available: boolean;
    reason: string | null;
    resolved: string;
    defaultBackend: string;
    forcedNative: { backend?: string; code?: string; message?: string };
    testing: string;
  }
  const AVAILABILITY = `
    const m = require("node-nsenter");
    let forcedNative;
    try {
      forcedNative = { backend: m.newNsenter(process.env.HOST_ROOT, undefined, { backend: "native" }).backend };
    } catch (e) {
      forcedNative = { code: e.code, message: e.message };
    }
    console.log(JSON.stringify({
      available: m.nativeAvailable(),
      reason: m.nativeUnavailableReason(),
      resolved: require.resolve("node-nsenter"),
      defaultBackend: m.newNsenter(process.env.HOST_ROOT).backend,
      forcedNative,
      testing: typeof require("node-nsenter/testing").FakeExec,
    }));`;

  it("reports consistently in the repository as built", () => {
    const a = runNode<Availability>(AVAILABILITY, { cwd: repo });
    expect(a.resolved).toBe(join(repo, "dist", "index.js"));
    if (a.available) {
      expect(a.reason).toBeNull();
      expect(a.defaultBackend).toBe("native");
      expect(a.forcedNative).toEqual({ backend: "native" });
    } else {
      expect(a.reason).toEqual(expect.any(String));
      expect(a.defaultBackend).toBe("binary");
      expect(a.forcedNative.code).toBe("ERR_NSENTER_NATIVE_UNAVAILABLE");
    }
  });

  it("NODE_NSENTER_NATIVE=0 turns it off: binary by default, native refused", () => {
    const a = runNode<Availability>(AVAILABILITY, {
      cwd: repo,
      env: { NODE_NSENTER_NATIVE: "0" },
    });
    expect(a.available).toBe(false);
    expect(a.reason).toContain("NODE_NSENTER_NATIVE");
    expect(a.defaultBackend).toBe("binary");
    expect(a.forcedNative.code).toBe("ERR_NSENTER_NATIVE_UNAVAILABLE");
    expect(a.forcedNative.message).toContain(a.reason);
  });

  describe("installed with install scripts skipped (no build/)", () => {
    let app: string;
    let pkgDir: string;
    beforeAll(() => {
      app = join(scratch, "app");
      pkgDir = join(app, "node_modules", "node-nsenter");
      mkdirSync(pkgDir, { recursive: true });
      cpSync(join(repo, "package.json"), join(pkgDir, "package.json"));
      cpSync(join(repo, "dist"), join(pkgDir, "dist"), { recursive: true });
      for (const dep of ["bindings", "file-uri-to-path"]) {
        cpSync(join(repo, "node_modules", dep), join(app, "node_modules", dep), {
          recursive: true,
        });
      }
    });

    it('loads, runs on the nsenter binary and says to run "npm rebuild"', () => {
      expect(existsSync(join(pkgDir, "build"))).toBe(false);
      const a = runNode<Availability>(AVAILABILITY, { cwd: app });
      expect(a.resolved).toBe(join(pkgDir, "dist", "index.js"));
      expect(a.testing).toBe("function");
      expect(a.available).toBe(false);
      expect(a.reason).toMatch(/not built/);
      expect(a.reason).toContain("npm rebuild");
      expect(a.defaultBackend).toBe("binary");
      expect(a.forcedNative.code).toBe("ERR_NSENTER_NATIVE_UNAVAILABLE");
      expect(a.forcedNative.message).toContain("npm rebuild");
    });

    it("reports the reason the install left in build/native-unavailable.txt", () => {
      const why = "made-up reason: no C++ toolchain on this test machine (build 4711)";
      mkdirSync(join(pkgDir, "build"), { recursive: true });
      writeFileSync(join(pkgDir, "build", "native-unavailable.txt"), `${why}\n`);
      try {
        const a = runNode<Availability>(AVAILABILITY, { cwd: app });
        expect(a.resolved).toBe(join(pkgDir, "dist", "index.js"));
        expect(a.available).toBe(false);
        expect(a.reason).toBe(why);
        expect(a.defaultBackend).toBe("binary");
        expect(a.forcedNative.message).toContain(why);
      } finally {
        rmSync(join(pkgDir, "build"), { recursive: true, force: true });
      }
    });
  });
});

describe("install without a C++ compiler", () => {
  it("succeeds, and the reason names the missing toolchain", () => {
    const dir = mkdtempSync(join(tmpdir(), "nsenter-nocc-"));
    try {
      // A PATH with everything this machine has except the C and C++ compilers.
      const bin = join(dir, "bin");
      mkdirSync(bin);
      const compilers =
        /^(g\+\+|gcc|cc|c\+\+|cpp|clang|clang\+\+)(-\d+)?$|^x86_64-linux-gnu-(g\+\+|gcc|cpp)/;
      for (const d of ["/usr/local/bin", "/usr/bin", "/bin"]) {
        for (const name of readdirSync(d)) {
          if (compilers.test(name) || existsSync(join(bin, name))) continue;
          symlinkSync(join(d, name), join(bin, name));
        }
      }
      const python = execFileSync("sh", ["-c", "command -v python3"], { encoding: "utf8" }).trim();
      if (!existsSync(join(bin, "python3"))) symlinkSync(python, join(bin, "python3"));
      const pkg = join(dir, "pkg");
      mkdirSync(join(pkg, "scripts"), { recursive: true });
      for (const f of [
        "package.json",
        "binding.gyp",
        "scripts/build-native.cjs",
        "scripts/node-gyp.cjs",
      ])
        cpSync(join(repo, f), join(pkg, f));
      cpSync(join(repo, "native"), join(pkg, "native"), { recursive: true });
      symlinkSync(join(repo, "node_modules"), join(pkg, "node_modules"));

      const r = spawnSync(process.execPath, ["scripts/build-native.cjs"], {
        cwd: pkg,
        encoding: "utf8",
        env: { ...withoutCompilerVars(process.env), PATH: bin },
      });
      expect(r.status).toBe(0);
      expect(existsSync(join(pkg, "build", "Release", "nsenter_native.node"))).toBe(false);
      const reason = readFileSync(join(pkg, "build", "native-unavailable.txt"), "utf8");
      expect(reason).toMatch(
        /^no C\+\+ toolchain \(g\+\+\/make\) was found at install; the binary backend/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});

function withoutCompilerVars(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out = { ...env };
  for (const k of ["CC", "CXX", "LINK", "npm_config_node_gyp"]) delete out[k];
  return out;
}
