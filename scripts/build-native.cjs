#!/usr/bin/env node
// Builds the native addon at install. A failed build never fails the install: the package
// then runs on the nsenter binary, and build/native-unavailable.txt says why (read by
// src/native.ts). `--strict` fails instead (CI), `--sanitize` builds with ASan + UBSan.
"use strict";
const { spawnSync } = require("node:child_process");
const { mkdirSync, rmSync, writeFileSync } = require("node:fs");
const { join } = require("node:path");
const { nodeGyp, nodeDirArgs } = require("./node-gyp.cjs");

const root = join(__dirname, "..");
const strict = process.argv.includes("--strict");
const sanitize = process.argv.includes("--sanitize");
const buildDir = join(root, "build");
const reasonFile = join(buildDir, "native-unavailable.txt");
const logFile = join(buildDir, "native-build.log");

function giveUp(reason, log) {
  mkdirSync(buildDir, { recursive: true });
  if (log !== undefined) writeFileSync(logFile, log);
  const text = `${reason}; the binary backend (util-linux nsenter) is used instead${log !== undefined ? ` (log: ${logFile})` : ""}`;
  writeFileSync(reasonFile, text + "\n");
  console.warn(`node-nsenter: native addon not built: ${text}`);
  process.exit(strict ? 1 : 0);
}

if (process.platform !== "linux")
  giveUp(`the native backend needs Linux (this is ${process.platform})`);
const gyp = nodeGyp();
if (!gyp) giveUp("node-gyp was not found (it comes with npm)");
rmSync(reasonFile, { force: true });

const args = [gyp, "rebuild"];
args.push(...nodeDirArgs());
if (sanitize) args.push("--debug", "--", "-Dsanitize=1");
const r = spawnSync(process.execPath, args, { cwd: root, encoding: "utf8", env: process.env });
const log = `${r.stdout ?? ""}${r.stderr ?? ""}`;
if (r.status !== 0) {
  // "make: g++: No such file or directory", "/bin/sh: 1: g++: not found", "not found: make"
  const compiler =
    /(^|[\s:])(g\+\+|c\+\+|gcc|cc|make): (command )?(not found|No such file or directory)/m.test(
      log,
    ) || /not found: (make|g\+\+|c\+\+|cc)\b/.test(log);
  const why = compiler
    ? "no C++ toolchain (g++/make) was found at install"
    : `node-gyp failed at install (${(/gyp ERR! stack Error: (.*)/.exec(log) ?? ["", `exit status ${r.status}`])[1]})`;
  giveUp(why, log);
}
mkdirSync(buildDir, { recursive: true });
writeFileSync(logFile, log);
