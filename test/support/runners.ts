/**
 * The backends one behaviour suite runs against: plain commands (child_process), and NSEnter
 * over the native addon and over the nsenter binary, both targeting a private namespace.
 */
import { newExec, newNsenter, nativeAvailable, type CmdLike } from "../../src/index";
import { testedBackends } from "./backends";
import type { Target } from "./namespace";

export interface Runner {
  readonly name: "exec" | "native" | "binary";
  command(cmd: string, ...args: string[]): CmdLike;
  commandContext(signal: AbortSignal, cmd: string, ...args: string[]): CmdLike;
  /** True when commands run in the target namespace. */
  readonly namespaced: boolean;
}

export const STOP_GRACE_MS = 300;

export function runners(target: () => Target): Runner[] {
  const out: Runner[] = [];
  const plain = newExec({ stopGracePeriodMs: STOP_GRACE_MS });
  out.push({
    name: "exec",
    namespaced: false,
    command: (c, ...a) => plain.command(c, ...a),
    commandContext: (s, c, ...a) => plain.commandContext(s, c, ...a),
  });
  for (const backend of testedBackends().run) {
    out.push({
      name: backend,
      namespaced: true,
      command: (c, ...a) => ne(target(), backend).command(c, ...a),
      commandContext: (s, c, ...a) => ne(target(), backend).commandContext(s, c, ...a),
    });
  }
  return out;
}

export function requireNative(): void {
  if (!nativeAvailable())
    throw new Error("the native addon is not built: run npm run build:native");
}

const cache = new Map<string, ReturnType<typeof newNsenter>>();
function ne(target: Target, backend: "native" | "binary") {
  const key = `${target.root}:${backend}`;
  let v = cache.get(key);
  if (!v) {
    v = newNsenter(target.root, undefined, { backend, stopGracePeriodMs: STOP_GRACE_MS });
    cache.set(key, v);
  }
  return v;
}
