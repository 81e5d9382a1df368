export {
  DEFAULT_HOST_ROOTFS_PATH,
  NSEnter,
  goJoin,
  newFakeNsenter,
  newNsenter,
  type Backend,
  type Nsenter,
  type NsenterOptions,
} from "./nsenter";
export {
  Cmd,
  CodeExitError,
  DEFAULT_STOP_GRACE_MS,
  Exec,
  ExitError,
  isExecutableNotFound,
  isExitError,
  newExec,
  type CmdLike,
  type CmdOptions,
  type ExecOptions,
  type ExitErrorLike,
  type Interface,
} from "./exec/index";
export { AbortError, type SystemError } from "./errors";
export { nativeAvailable, nativeUnavailableReason } from "./native";
