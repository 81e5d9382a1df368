// Under npm run test:asan, node runs with the ASan runtime preloaded (LD_PRELOAD). The test
// worker has it loaded now; the commands the tests start must not inherit it, or every sh and
// cat would run under the sanitizer runtime, slowly and with its own memory behaviour. Node
// subprocesses that load the addon get it back (test/support/subprocess.ts).
if (process.env.NSENTER_ASAN === "1" && process.env.LD_PRELOAD) {
  process.env.NSENTER_ASAN_PRELOAD = process.env.LD_PRELOAD;
  delete process.env.LD_PRELOAD;
}
