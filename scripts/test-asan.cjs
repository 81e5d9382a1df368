#!/usr/bin/env node
// npm run test:asan: builds the addon with AddressSanitizer + UndefinedBehaviorSanitizer in
// build-asan/ (the regular build stays in place) and runs the whole vitest suite against it,
// with the ASan runtime preloaded into node (node itself is not instrumented).
"use strict";
const { execFileSync, spawnSync } = require("node:child_process");
const { cpSync, mkdirSync, rmSync, symlinkSync } = require("node:fs");
const { join } = require("node:path");
const { nodeGyp, nodeDirArgs } = require("./node-gyp.cjs");

const root = join(__dirname, "..");
const dir = join(root, "build-asan");
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir);
cpSync(join(root, "binding.gyp"), join(dir, "binding.gyp"));
cpSync(join(root, "native"), join(dir, "native"), { recursive: true });
symlinkSync(join(root, "node_modules"), join(dir, "node_modules"));

const gyp = nodeGyp();
if (!gyp) throw new Error("node-gyp was not found (it comes with npm)");
const args = [gyp, "rebuild", "--debug", ...nodeDirArgs()];
args.push("--", "-Dsanitize=1");
execFileSync(process.execPath, args, { cwd: dir, stdio: "inherit" });

const addon = join(dir, "build", "Debug", "nsenter_native.node");
const libasan = execFileSync("gcc", ["-print-file-name=libasan.so"], { encoding: "utf8" }).trim();
const libubsan = execFileSync("gcc", ["-print-file-name=libubsan.so"], { encoding: "utf8" }).trim();
const env = {
  ...process.env,
  NODE_NSENTER_ADDON: addon,
  // test/support/asan-setup.ts keeps LD_PRELOAD out of the commands the tests run
  NSENTER_ASAN: "1",
  LD_PRELOAD: `${libasan} ${libubsan}`,
  // node's own allocations are not ours to judge; errors in the addon abort the run.
  ASAN_OPTIONS: "detect_leaks=0:abort_on_error=1:halt_on_error=1:allow_user_segv_handler=1",
  UBSAN_OPTIONS: "halt_on_error=1:print_stacktrace=1",
};
console.log(`test:asan: running the suite with ${addon}`);
const r = spawnSync("npx", ["vitest", "run", ...process.argv.slice(2)], {
  cwd: root,
  env,
  stdio: "inherit",
});
process.exit(r.status ?? 1);
