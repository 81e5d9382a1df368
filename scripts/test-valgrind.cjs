#!/usr/bin/env node
// npm run test:valgrind: runs native/spawn.cc through every outcome under valgrind memcheck,
// in a private mount namespace of its own. Any memcheck error fails the run.
"use strict";
const { execFileSync, spawn, spawnSync } = require("node:child_process");
const { mkdtempSync, rmSync } = require("node:fs");
const { tmpdir } = require("node:os");
const { join } = require("node:path");

const root = join(__dirname, "..");
const dir = mkdtempSync(join(tmpdir(), "nsenter-valgrind-"));
const bin = join(dir, "spawn-harness");
execFileSync(
  "g++",
  [
    "-std=c++17",
    "-g",
    "-O1",
    "-D_GNU_SOURCE",
    "-Wall",
    "-Wextra",
    "-o",
    bin,
    join(root, "test", "native", "spawn-harness.cc"),
    join(root, "native", "spawn.cc"),
    "-pthread",
  ],
  { stdio: "inherit" },
);

const holder = spawn(
  "unshare",
  ["--mount", "--net", "--propagation", "private", "sh", "-c", "echo ready; exec sleep 100000"],
  {
    stdio: ["ignore", "pipe", "inherit"],
  },
);
holder.stdout.once("data", () => {
  const ns = (t) => `/proc/${holder.pid}/ns/${t}`;
  const r = spawnSync(
    "valgrind",
    [
      "--error-exitcode=99",
      "--leak-check=full",
      "--errors-for-leak-kinds=definite,indirect",
      "--track-fds=no",
      "-q",
      bin,
      ns("mnt"),
      ns("net"),
    ],
    {
      stdio: "inherit",
      // valgrind does not know pidfd_open; say so up front rather than have it warn.
      env: { ...process.env, NODE_NSENTER_NO_PIDFD: "1" },
    },
  );
  holder.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
  if (r.error) console.error(`valgrind could not run: ${r.error.message}`);
  process.exit(r.status ?? 1);
});
holder.once("exit", (code) => {
  if (code !== null) {
    console.error("unshare failed: run as root");
    process.exit(1);
  }
});
