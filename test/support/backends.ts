/**
 * Which NSEnter backends the suites test. Both by default; NSENTER_TEST_BACKENDS=binary limits
 * a run to the binary backend (installs without the addon: `npm run test:binary`). A requested
 * native backend that is not built skips with the reason outside CI and fails under CI=true.
 */
import { nativeAvailable, nativeUnavailableReason } from "../../src/native";

export type BackendName = "native" | "binary";

export function requestedBackends(): BackendName[] {
  const raw = process.env.NSENTER_TEST_BACKENDS ?? "native,binary";
  const out = raw.split(",").map((s) => s.trim()) as BackendName[];
  for (const b of out) {
    if (b !== "native" && b !== "binary")
      throw new Error(`NSENTER_TEST_BACKENDS: unknown backend ${b}`);
  }
  return out;
}

const CI = process.env.CI === "true" || process.env.CI === "1";

/** Backends to run now, and why any requested one is left out. */
export function testedBackends(): { run: BackendName[]; skipped: string[] } {
  const run: BackendName[] = [];
  const skipped: string[] = [];
  for (const b of requestedBackends()) {
    if (b === "native" && !nativeAvailable() && !CI) {
      skipped.push(`native backend [skipped: ${nativeUnavailableReason()}]`);
    } else {
      run.push(b); // under CI a missing addon makes the native tests fail, loudly
    }
  }
  return { run, skipped };
}

/** Whether native-only suites run, or the reason they do not. */
export function nativeSuite(): { run: boolean; reason: string } {
  const { run, skipped } = testedBackends();
  if (run.includes("native")) return { run: true, reason: "" };
  return { run: false, reason: skipped[0] ?? "NSENTER_TEST_BACKENDS excludes native" };
}
