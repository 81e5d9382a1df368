import { constants } from "node:os";
import { getSystemErrorMap, getSystemErrorName } from "node:util";

/**
 * An error from a failed system call, shaped like Node's own (`fs`, `child_process`):
 * `code` ("ENOENT"), negative `errno`, `syscall` ("execve", "setns", "chdir", "open"), and
 * `path` when a path is involved. The message reads like Node's:
 * `ENOENT: no such file or directory, execve '/usr/bin/missing'`.
 */
export interface SystemError extends Error {
  code: string;
  errno: number;
  syscall: string;
  path?: string;
}

/** Positive errno number for a code such as "ENOENT" (0 when unknown). */
export function errnoOf(code: string): number {
  return (constants.errno as Record<string, number>)[code] ?? 0;
}

// Errors libuv has no name for, which the kernel still returns here (execve's ENOEXEC above
// all); text as glibc's strerror, in libuv's lower case.
const EXTRA_TEXT: Record<string, string> = {
  ENOEXEC: "exec format error",
  ESTALE: "stale file handle",
  ECHILD: "no child processes",
  EDQUOT: "disk quota exceeded",
  EDEADLK: "resource deadlock avoided",
  ENOLCK: "no locks available",
  EINPROGRESS: "operation now in progress",
  EBADMSG: "bad message",
  EIDRM: "identifier removed",
  EDOM: "numerical argument out of domain",
};

let names: Map<number, string> | null = null;

/** Code name ("ENOEXEC") of a positive or negative errno; os.constants covers what libuv lacks. */
function codeName(errno: number): string | undefined {
  const negative = -Math.abs(errno);
  try {
    const name = getSystemErrorName(negative);
    if (/^E[A-Z0-9]+$/.test(name)) return name;
  } catch {
    // not one of libuv's
  }
  if (!names) {
    names = new Map();
    for (const [name, value] of Object.entries(constants.errno)) names.set(value, name);
  }
  return names.get(-negative);
}

function describe(errno: number, code: string | undefined): string {
  const entry = getSystemErrorMap().get(-Math.abs(errno));
  return entry ? entry[1] : ((code && EXTRA_TEXT[code]) ?? "unknown error");
}

/**
 * Builds a Node-style error from the facts a backend reports: a positive or negative errno,
 * the system call that failed and, optionally, the path it was given.
 */
export function systemError(
  errno: number,
  syscall: string,
  path?: string,
  detail?: string,
): SystemError {
  const negative = -Math.abs(errno);
  const name = codeName(negative);
  const code = name ?? `Unknown system error ${negative}`;
  let message = `${code}: ${describe(negative, name)}, ${syscall}`;
  if (path !== undefined) message += ` '${path}'`;
  if (detail) message += ` (${detail})`;
  const err = new Error(message) as SystemError;
  err.errno = negative;
  err.code = code;
  err.syscall = syscall;
  if (path !== undefined) err.path = path;
  Error.captureStackTrace(err, systemError);
  return err;
}

// glibc's strerror words where they differ from libuv's descriptions.
const GLIBC_TEXT: Record<string, string> = {
  "file name too long": "ENAMETOOLONG",
  "too many levels of symbolic links": "ELOOP",
  "text file busy": "ETXTBSY",
  "is a directory": "EISDIR",
  "cannot allocate memory": "ENOMEM",
};

let byText: Map<string, string> | null = null;

/**
 * The code ("ENOENT") a C program's strerror text names ("No such file or directory"), as
 * tools such as nsenter and realpath print it; undefined when the text is not known.
 */
export function codeFromStrerror(text: string): string | undefined {
  if (!byText) {
    byText = new Map();
    for (const [name, desc] of getSystemErrorMap().values()) byText.set(desc.toLowerCase(), name);
    for (const [name, desc] of Object.entries(EXTRA_TEXT)) byText.set(desc, name);
    for (const [desc, name] of Object.entries(GLIBC_TEXT)) byText.set(desc, name);
  }
  return byText.get(text.trim().toLowerCase());
}

/** Same as {@link systemError}, from a code name such as "EACCES". */
export function systemErrorFromCode(
  code: string,
  syscall: string,
  path?: string,
  detail?: string,
): SystemError {
  const errno = errnoOf(code);
  if (errno === 0) {
    const err = new Error(`${code}: ${syscall}${path !== undefined ? ` '${path}'` : ""}`);
    return Object.assign(err, { code, errno: 0, syscall, path }) as SystemError;
  }
  return systemError(errno, syscall, path, detail);
}

/**
 * Rejection of a command whose AbortSignal fired, like Node's `AbortError`
 * (`name` "AbortError", `code` "ABORT_ERR"); `cause` holds the signal's reason.
 */
export class AbortError extends Error {
  readonly code = "ABORT_ERR";
  override readonly name = "AbortError";

  constructor(message = "The operation was aborted", options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Error for bad arguments given to the API, like Node's `ERR_INVALID_ARG_VALUE`. */
export function invalidArgValue(name: string, value: unknown, reason: string): TypeError {
  const shown = typeof value === "string" ? JSON.stringify(value) : String(value);
  const err = new TypeError(`The argument '${name}' ${reason}. Received ${shown}`) as TypeError & {
    code: string;
  };
  err.code = "ERR_INVALID_ARG_VALUE";
  return err;
}

/** Error for a wrongly typed argument, like Node's `ERR_INVALID_ARG_TYPE`. */
export function invalidArgType(name: string, expected: string, value: unknown): TypeError {
  const err = new TypeError(
    `The "${name}" argument must be ${expected}. Received ${value === null ? "null" : typeof value}`,
  ) as TypeError & { code: string };
  err.code = "ERR_INVALID_ARG_TYPE";
  return err;
}

/** Go's `exec: ...` usage errors (start twice, wait before start, ...), with a stable code. */
export function usageError(message: string): Error & { code: string } {
  const err = new Error(`exec: ${message}`) as Error & { code: string };
  err.code = "ERR_NSENTER_USAGE";
  return err;
}
