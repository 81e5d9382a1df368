// One heap level of `npm run bench`, in its own process: holds --heap-gb GiB of touched
// Buffers, then measures sequential latency and throughput of each way to run /bin/true in the
// target namespace (and plain child_process.spawn without one). Prints one JSON line.
import { spawn } from "node:child_process";
import { readdirSync } from "node:fs";
import { parseArgs } from "node:util";
import { newExec, newNsenter } from "node-nsenter";

const { values: opt } = parseArgs({
  options: {
    "heap-gb": { type: "string", default: "0" },
    root: { type: "string" },
    runs: { type: "string", default: "1000" },
    "slow-runs": { type: "string", default: "300" },
    inflight: { type: "string", default: "16" },
    growth: { type: "string", default: "0" },
  },
});
const heapGB = Number(opt["heap-gb"]);
const runs = Number(opt.runs);
const inflight = Number(opt.inflight);

// Touched, so every page is mapped: what makes fork() slow in a large process.
const heap = [];
for (let left = heapGB * 1024; left > 0; left -= 256) {
  const b = Buffer.allocUnsafe(Math.min(256, left) * 1024 * 1024);
  b.fill(7);
  heap.push(b);
}

const native = newNsenter(opt.root, undefined, { backend: "native" });
// "binary": what runs where the addon cannot load: the nsenter binary started by
// child_process (an executor of the user's own always goes this way).
const exec = newExec();
const viaExecutor = {
  command: (cmd, ...args) => exec.command(cmd, ...args),
  commandContext: (signal, cmd, ...args) => exec.commandContext(signal, cmd, ...args),
  lookPath: (file) => exec.lookPath(file),
};
const binary = newNsenter(opt.root, viaExecutor, { backend: "binary" });
// "binaryAddon": the binary backend when the addon did load (forced with backend: "binary"):
// nsenter itself is then started by the addon's vfork-style clone.
const binaryAddon = newNsenter(opt.root, undefined, { backend: "binary" });
const ways = {
  native: () => native.command("/bin/true").run(),
  binary: () => binary.command("/bin/true").run(),
  binaryAddon: () => binaryAddon.command("/bin/true").run(),
  spawn: () =>
    new Promise((resolve, reject) => {
      const c = spawn("/bin/true", [], { stdio: "ignore" });
      c.once("error", reject);
      c.once("exit", (code) => (code === 0 ? resolve() : reject(new Error(`exit ${code}`))));
    }),
};

// Fork-based ways cost ~0.1 s per GiB: fewer runs keep the bench short without hiding that.
const runsOf = (name) =>
  name === "native" ? runs : Math.max(20, Math.round(Number(opt["slow-runs"]) / (1 + heapGB * 4)));

async function latency(fn, n) {
  for (let i = 0; i < Math.min(50, n / 10); i++) await fn();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await fn();
  return Number(process.hrtime.bigint() - t0) / 1e6 / n;
}

async function throughput(fn, n, width) {
  let next = 0;
  const t0 = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next++ < n) await fn();
    }),
  );
  return n / (Number(process.hrtime.bigint() - t0) / 1e9);
}

const fds = () => readdirSync("/proc/self/fd").length;
const rssMB = () => process.memoryUsage().rss / 2 ** 20;

const result = { heapGB, rssMB: Math.round(rssMB()), latencyMs: {}, throughput: {}, runs: {} };
for (const [name, fn] of Object.entries(ways)) {
  const n = runsOf(name);
  result.runs[name] = n;
  result.latencyMs[name] = await latency(fn, n);
  result.throughput[name] = await throughput(fn, n, inflight);
}

// Growth over many runs: fd count and RSS after warm-up, then after the rest.
const growthRuns = Number(opt.growth);
if (growthRuns > 0) {
  result.growth = {};
  for (const name of ["native", "binary"]) {
    const fn = ways[name];
    const warm = Math.round(growthRuns / 10);
    for (let i = 0; i < warm; i++) await fn();
    globalThis.gc?.();
    const before = { fds: fds(), rssMB: rssMB() };
    for (let i = warm; i < growthRuns; i++) await fn();
    globalThis.gc?.();
    await new Promise((r) => setTimeout(r, 50));
    result.growth[name] = {
      runs: growthRuns,
      fds: fds() - before.fds,
      rssMB: Math.round((rssMB() - before.rssMB) * 10) / 10,
    };
  }
}
heap.length = 0;
process.stdout.write(`${JSON.stringify(result)}\n`);
