// npm run demo: makes a private mount namespace of its own (never PID 1's), writes a file that
// only that namespace can see, and reads it back through NSEnter on every available backend.
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { nativeAvailable, nativeUnavailableReason, newNsenter } from "node-nsenter";

const CAP_SYS_CHROOT = 18n;
const CAP_SYS_ADMIN = 21n;

function missingPrivileges() {
  const capEff =
    /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync("/proc/self/status", "utf8"))?.[1] ?? "0";
  const caps = BigInt(`0x${capEff}`);
  const missing = [];
  if (!(caps & (1n << CAP_SYS_ADMIN)))
    missing.push("CAP_SYS_ADMIN (to create and join a mount namespace)");
  if (!(caps & (1n << CAP_SYS_CHROOT)))
    missing.push("CAP_SYS_CHROOT (setns into a mount namespace needs it)");
  return missing;
}

const missing = missingPrivileges();
if (missing.length > 0) {
  console.error(
    `This demo needs root with these capabilities, which this process lacks (uid ${process.getuid()}):`,
  );
  for (const m of missing) console.error(`  - ${m}`);
  console.error("Run it as root, e.g. `sudo npm run demo`, or in a privileged container.");
  process.exit(1);
}

const base = mkdtempSync(join(tmpdir(), "nsenter-demo-"));
const secretDir = join(base, "private");
mkdirSync(secretDir);

console.log(
  "1. Starting a holder process in a new mount namespace (unshare --mount --propagation private)",
);
console.log(
  `   and mounting a tmpfs on ${secretDir} there, with a file only that namespace can see.`,
);
const holder = spawn(
  "unshare",
  [
    "--mount",
    "--propagation",
    "private",
    "sh",
    "-c",
    'mount -t tmpfs demo "$1" && echo "hello from the target namespace" > "$1/secret.txt" && echo ready && exec sleep 600',
    "holder",
    secretDir,
  ],
  { stdio: ["ignore", "pipe", "inherit"] },
);
try {
  await new Promise((resolve, reject) => {
    holder.stdout.once("data", resolve);
    holder.once("exit", (code) => reject(new Error(`the holder exited with ${code}`)));
  });

  const root = join(base, "root");
  mkdirSync(join(root, "proc", "1", "ns"), { recursive: true });
  symlinkSync(`/proc/${holder.pid}/ns/mnt`, join(root, "proc", "1", "ns", "mnt"));
  for (const d of ["bin", "usr"]) symlinkSync(`/${d}`, join(root, d));
  console.log(
    `2. A fake host root at ${root}: proc/1/ns/mnt -> /proc/${holder.pid}/ns/mnt, bin and usr -> this machine's.`,
  );
  console.log(
    `   From here the file is invisible: exists(${join(secretDir, "secret.txt")}) = ${existsSync(join(secretDir, "secret.txt"))}`,
  );

  console.log(
    `3. Reading it back through NSEnter (native addon ${nativeAvailable() ? "loaded" : `unavailable: ${nativeUnavailableReason()}`}):`,
  );
  const backends = nativeAvailable() ? ["native", "binary"] : ["binary"];
  for (const backend of backends) {
    const ne = newNsenter(root, undefined, { backend });
    const out = await ne.command("cat", join(secretDir, "secret.txt")).output();
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < 50; i++) await ne.command("true").run();
    const ms = Number(process.hrtime.bigint() - t0) / 1e6 / 50;
    const cmd = ne.command("cat", "secret.txt");
    cmd.setDir(secretDir);
    const viaDir = await cmd.output();
    const resolved = await ne.evalSymlinks(join(secretDir, "secret.txt"), true);
    console.log(
      `   [${ne.backend}] cat -> ${JSON.stringify(out.toString().trim())} (a run of true: ${ms.toFixed(2)} ms);` +
        ` with setDir: ${JSON.stringify(viaDir.toString().trim())}; evalSymlinks -> ${resolved}`,
    );
  }
  const auto = newNsenter(root);
  console.log(`4. newNsenter(root) with default options picks the ${auto.backend} backend.`);
} finally {
  holder.kill("SIGKILL");
  await new Promise((r) =>
    holder.exitCode !== null || holder.signalCode !== null ? r() : holder.once("exit", r),
  );
  rmSync(base, { recursive: true, force: true });
}
console.log("Done: the namespace is gone with its holder; nothing was left behind.");
