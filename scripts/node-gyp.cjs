// Where npm's bundled node-gyp is, and the arguments that build against this Node's own
// headers when it ships them (no download at install). Shared by the build scripts.
"use strict";
const { existsSync } = require("node:fs");
const { dirname, join } = require("node:path");

function nodeGyp() {
  const bundled = join(
    dirname(process.execPath),
    "..",
    "lib",
    "node_modules",
    "npm",
    "node_modules",
    "node-gyp",
    "bin",
    "node-gyp.js",
  );
  for (const c of [process.env.npm_config_node_gyp, bundled]) if (c && existsSync(c)) return c;
  try {
    return require.resolve("node-gyp/bin/node-gyp.js");
  } catch {
    return null;
  }
}

function nodeDirArgs() {
  const nodeDir = join(dirname(process.execPath), "..");
  if (
    !process.env.npm_config_nodedir &&
    existsSync(join(nodeDir, "include", "node", "node_api.h"))
  ) {
    return [`--nodedir=${nodeDir}`];
  }
  return [];
}

module.exports = { nodeGyp, nodeDirArgs };
