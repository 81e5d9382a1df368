// npm run bench: native backend vs binary backend vs plain child_process.spawn vs a C floor
// (vfork + setns + execve), at several heap sizes, in one run. Prints the goal ratios, writes
// the figures to bench/results/latest.json and the chart to bench/results/latency.svg (with
// --readme also to docs/bench-latency.svg, the README's).
import { execFileSync, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { cpus, release, totalmem, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { drawChart } from "./chart.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const { values: opt } = parseArgs({
  options: {
    heaps: { type: "string", default: process.env.BENCH_HEAPS ?? "0,1,2,3" },
    runs: { type: "string", default: "2000" },
    "slow-runs": { type: "string", default: "400" },
    inflight: { type: "string", default: "16" },
    growth: { type: "string", default: "10000" },
    readme: { type: "boolean", default: false },
  },
});
const heaps = opt.heaps.split(",").map(Number);

mkdirSync(join(here, "results"), { recursive: true });
const floorBin = join(here, "results", "floor");
execFileSync("cc", ["-O2", "-o", floorBin, join(here, "floor.c")]);

// A private mount namespace of our own, and a fake host root pointing at it.
const base = mkdtempSync(join(tmpdir(), "nsenter-bench-"));
const holder = spawn(
  "unshare",
  ["--mount", "--propagation", "private", "sh", "-c", "echo ready; exec sleep 100000"],
  {
    stdio: ["ignore", "pipe", "inherit"],
  },
);
await new Promise((resolve, reject) => {
  holder.stdout.once("data", resolve);
  holder.once("exit", (c) => reject(new Error(`unshare failed (${c}): run the bench as root`)));
});
const nsPath = `/proc/${holder.pid}/ns/mnt`;
const root = join(base, "root");
mkdirSync(join(root, "proc", "1", "ns"), { recursive: true });
symlinkSync(nsPath, join(root, "proc", "1", "ns", "mnt"));
for (const d of ["bin", "usr"]) symlinkSync(`/${d}`, join(root, d));

const levels = [];
try {
  for (const [i, heapGB] of heaps.entries()) {
    process.stderr.write(`heap ${heapGB} GiB: measuring...\n`);
    const out = execFileSync(
      process.execPath,
      [
        "--expose-gc",
        join(here, "measure.mjs"),
        `--heap-gb=${heapGB}`,
        `--root=${root}`,
        `--runs=${opt.runs}`,
        `--slow-runs=${opt["slow-runs"]}`,
        `--inflight=${opt.inflight}`,
        `--growth=${i === 0 ? opt.growth : 0}`,
      ],
      { encoding: "utf8", maxBuffer: 1 << 20, stdio: ["ignore", "pipe", "inherit"] },
    );
    const level = JSON.parse(out.trim().split("\n").pop());
    const floorRuns = String(Number(opt.runs));
    level.latencyMs.floor = Number(
      execFileSync(floorBin, [nsPath, floorRuns, "/bin/true", String(heapGB)], {
        encoding: "utf8",
      }),
    );
    levels.push(level);
  }
} finally {
  holder.kill("SIGKILL");
  rmSync(base, { recursive: true, force: true });
}

const small = levels[0];
const large = levels.reduce((a, b) => (b.heapGB > a.heapGB ? b : a));
const goals = [
  [
    "native / binary, latency",
    small.heapGB,
    small.latencyMs.native / small.latencyMs.binary,
    "<=",
    0.6,
  ],
  [
    "native / child_process.spawn, latency",
    small.heapGB,
    small.latencyMs.native / small.latencyMs.spawn,
    "<=",
    1.0,
  ],
  [
    "native / C floor, latency",
    small.heapGB,
    small.latencyMs.native / small.latencyMs.floor,
    "<=",
    2.0,
  ],
  [
    `native / binary, latency`,
    large.heapGB,
    large.latencyMs.native / large.latencyMs.binary,
    "<=",
    0.05,
  ],
  [
    `native / binary, throughput at ${opt.inflight} in flight`,
    small.heapGB,
    small.throughput.native / small.throughput.binary,
    ">=",
    1.7,
  ],
].map(([what, heapGB, ratio, op, target]) => ({
  what,
  heapGB,
  ratio,
  op,
  target,
  met: op === "<=" ? ratio <= target : ratio >= target,
}));

const machine = {
  cpu: cpus()[0]?.model ?? "unknown",
  cores: cpus().length,
  memoryGiB: Math.round(totalmem() / 2 ** 30),
  kernel: release(),
  node: process.version,
};
const figures = { date: new Date().toISOString(), machine, options: opt, levels, goals };
writeFileSync(join(here, "results", "latest.json"), `${JSON.stringify(figures, null, 2)}\n`);
writeFileSync(join(here, "results", "latency.svg"), drawChart(figures));
// The README's chart changes only when asked: a shortened run must not replace it.
if (opt.readme) writeFileSync(join(here, "..", "docs", "bench-latency.svg"), drawChart(figures));

const f = (x, d = 3) => x.toFixed(d);
console.log(
  `\nmachine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, Linux ${machine.kernel}, Node ${machine.node}\n`,
);
console.log("latency per sequential /bin/true run, ms (runs: native / others)");
console.log(
  "binary: nsenter started by child_process (the fallback); +addon: nsenter started by the addon\n" +
    "heap GiB | native  | binary   | binary+addon | spawn    | C floor | native/binary | native/spawn | native/floor",
);
for (const l of levels) {
  const m = l.latencyMs;
  console.log(
    `${String(l.heapGB).padStart(8)} | ${f(m.native).padStart(7)} | ${f(m.binary).padStart(8)} | ${f(m.binaryAddon).padStart(12)} | ${f(m.spawn).padStart(8)} | ${f(m.floor).padStart(7)} | ${f(m.native / m.binary).padStart(13)} | ${f(m.native / m.spawn).padStart(12)} | ${f(m.native / m.floor).padStart(12)}`,
  );
}
console.log(`\nthroughput, runs/s with ${opt.inflight} in flight`);
console.log("heap GiB | native | binary | binary+addon | spawn | native/binary");
for (const l of levels) {
  const t = l.throughput;
  console.log(
    `${String(l.heapGB).padStart(8)} | ${f(t.native, 0).padStart(6)} | ${f(t.binary, 0).padStart(6)} | ${f(t.binaryAddon, 0).padStart(12)} | ${f(t.spawn, 0).padStart(5)} | ${f(t.native / t.binary, 2).padStart(13)}`,
  );
}
if (small.growth) {
  console.log(`\ngrowth over ${opt.growth} runs after warm-up (heap ${small.heapGB} GiB)`);
  for (const [name, g] of Object.entries(small.growth))
    console.log(
      `  ${name}: fds ${g.fds >= 0 ? "+" : ""}${g.fds}, rss ${g.rssMB >= 0 ? "+" : ""}${g.rssMB} MiB`,
    );
}
console.log("\ngoals");
for (const g of goals)
  console.log(
    `  ${g.met ? "met " : "MISS"}  ${g.what} at ${g.heapGB} GiB: ${f(g.ratio)} (goal ${g.op} ${g.target})`,
  );
const md = [
  "| heap | native | binary (child_process) | binary (addon) | `child_process.spawn` | C floor |",
  "|---:|---:|---:|---:|---:|---:|",
  ...levels.map((l) => {
    const m = l.latencyMs;
    return `| ${l.heapGB} GiB | ${f(m.native)} ms | ${f(m.binary)} ms | ${f(m.binaryAddon)} ms | ${f(m.spawn)} ms | ${f(m.floor)} ms |`;
  }),
  "",
  "| goal | heap | ratio | target | |",
  "|---|---:|---:|---:|---|",
  ...goals.map(
    (g) =>
      `| ${g.what} | ${g.heapGB} GiB | ${f(g.ratio)} | ${g.op} ${g.target} | ${g.met ? "met" : "missed"} |`,
  ),
].join("\n");
writeFileSync(join(here, "results", "latest.md"), `${md}\n`);
console.log(
  `\nfigures: bench/results/latest.json (markdown: latest.md); chart: bench/results/latency.svg${opt.readme ? " and docs/bench-latency.svg" : ""}`,
);
process.exitCode = goals.every((g) => g.met) ? 0 : 1;
