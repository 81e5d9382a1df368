// ExitError, CodeExitError and the "executable not found" test, as k8s.io/utils/exec has them.
import { describe, expect, it } from "vitest";
import {
  CodeExitError,
  ExitError,
  isExecutableNotFound,
  isExitError,
  newExec,
} from "../../src/index";

describe("ExitError", () => {
  it("reads like Go's: exit status N, or signal: <Go's name>", () => {
    expect(new ExitError(3, null).message).toBe("exit status 3");
    expect(new ExitError(null, "SIGTERM").message).toBe("signal: terminated");
    expect(new ExitError(null, "SIGSEGV").message).toBe("signal: segmentation fault");
    expect(new ExitError(null, "SIG34" as NodeJS.Signals).message).toBe("signal: signal 34");
    expect(String(new ExitError(1, null))).toBe("exit status 1");
  });

  it("exitStatus() is -1 and exited() false after a signal", () => {
    const e = new ExitError(null, "SIGKILL");
    expect([e.exitStatus(), e.exited(), e.exitCode, e.signal]).toEqual([
      -1,
      false,
      null,
      "SIGKILL",
    ]);
    const x = new ExitError(2, null);
    expect([x.exitStatus(), x.exited(), x.exitCode, x.signal]).toEqual([2, true, 2, null]);
  });
});

describe("CodeExitError", () => {
  it("wraps an error with a code, as k8s' CodeExitError", () => {
    const inner = new Error("mount failed");
    const e = new CodeExitError(inner, 32);
    expect(e.message).toBe("mount failed");
    expect(String(e)).toBe("mount failed");
    expect(e.exitStatus()).toBe(32);
    expect(e.exited()).toBe(true);
    expect(e.cause).toBe(inner);
    expect(isExitError(e)).toBe(true);
  });
});

describe("isExecutableNotFound", () => {
  it("is true for a missing program and a failed lookPath, false for an exit status", async () => {
    const exec = newExec();
    expect(
      isExecutableNotFound(
        await exec
          .command("/nonexistent/x")
          .run()
          .catch((e) => e),
      ),
    ).toBe(true);
    expect(isExecutableNotFound(await exec.lookPath("no-such-program-here").catch((e) => e))).toBe(
      true,
    );
    expect(
      isExecutableNotFound(
        await exec
          .command("sh", "-c", "exit 127")
          .run()
          .catch((e) => e),
      ),
    ).toBe(false);
    expect(isExecutableNotFound(new Error("x"))).toBe(false);
    expect(isExecutableNotFound(null)).toBe(false);
    expect(await exec.lookPath("sh")).toMatch(/\/sh$/);
  });
});
