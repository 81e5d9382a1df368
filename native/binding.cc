// The only file that talks to Node-API. It turns the request object into a SpawnRequest,
// returns primitives (pid, fds, or errno + the failing system call), and watches each child's
// exit: a pidfd polled by the event loop where the kernel has pidfds, else a thread per child.
// No SIGCHLD handler and no waitpid(-1): libuv reaps its own children only, and so do we.
#include <errno.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

#include <limits.h>
#include <pthread.h>

#include <functional>
#include <memory>
#include <mutex>
#include <unordered_set>

#include <napi.h>

#include "spawn.h"

#include "linux.h"

namespace nsenter {
namespace {

// State of one child, shared by the loop thread, a fallback waiter thread, and a reaper thread
// that takes over when the owning environment (a worker) goes away.
struct ChildState {
  std::mutex mu;
  pid_t pid = -1;
  int pidfd = -1;
  bool reaped = false;
  int exit_code = -1;  // stays -1 (and signo 0) if the reap itself failed: never a clean exit
  int signo = 0;
  bool detached = false;  // the environment is gone: reap, but report to nobody
};

void Decode(const siginfo_t& info, ChildState* st) {
  if (info.si_code == CLD_EXITED) {
    st->exit_code = info.si_status;
    st->signo = 0;
  } else {
    st->exit_code = -1;
    st->signo = info.si_status;
  }
}

// Blocking reap, for threads only. Waits without reaping first, then reaps under the lock, so
// kill() (which takes the lock) can never signal a pid that has been recycled.
void ReapBlocking(const std::shared_ptr<ChildState>& st) {
  siginfo_t info{};
  int r;
  do {
    if (st->pidfd >= 0) {
      r = waitid(static_cast<idtype_t>(P_PIDFD), st->pidfd, &info, WEXITED | WNOWAIT);
    } else {
      r = waitid(P_PID, st->pid, &info, WEXITED | WNOWAIT);
    }
  } while (r < 0 && errno == EINTR);
  std::lock_guard<std::mutex> lock(st->mu);
  do {
    r = waitid(P_PID, st->pid, &info, WEXITED);
  } while (r < 0 && errno == EINTR);
  st->reaped = true;
  Decode(info, st.get());
  if (st->pidfd >= 0) {
    close(st->pidfd);
    st->pidfd = -1;
  }
}

// A detached thread running fn; false (errno set) when none could be created. Not std::thread:
// built without exceptions, its failure would terminate the process.
bool StartThread(std::function<void()> fn) {
  auto* task = new std::function<void()>(std::move(fn));
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  size_t stack = 64 * 1024;
  if (stack < static_cast<size_t>(PTHREAD_STACK_MIN)) stack = PTHREAD_STACK_MIN;
  pthread_attr_setstacksize(&attr, stack);
  pthread_t thread;
  int r = pthread_create(
      &thread, &attr,
      [](void* p) -> void* {
        auto* f = static_cast<std::function<void()>*>(p);
        (*f)();
        delete f;
        return nullptr;
      },
      task);
  pthread_attr_destroy(&attr);
  if (r != 0) {
    delete task;
    errno = r;
    return false;
  }
  return true;
}

class Addon;

// Lives on the loop thread until the exit has been delivered; frees itself in a close callback.
struct Watch {
  Addon* addon;
  napi_env env;
  std::shared_ptr<ChildState> state;
  Napi::FunctionReference on_exit;
  Napi::AsyncContext* async_context = nullptr;
  uv_poll_t poll;   // pidfd mode
  uv_async_t async; // thread mode
  bool thread_mode = false;
  bool delivered = false;

  void Deliver();
  void Close();
};

class ChildHandle : public Napi::ObjectWrap<ChildHandle> {
 public:
  static Napi::Function Class(Napi::Env env) {
    return DefineClass(env, "NativeChild", {InstanceMethod("kill", &ChildHandle::Kill)});
  }
  ChildHandle(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ChildHandle>(info) {}
  std::shared_ptr<ChildState> state;

 private:
  // Signals through the pidfd; without one, by pid, but only while the child is unreaped
  // (it is then at least a zombie, so the pid cannot have been reused).
  Napi::Value Kill(const Napi::CallbackInfo& info) {
    int sig = info[0].As<Napi::Number>().Int32Value();
    int r = -ESRCH;
    if (state) {
      std::lock_guard<std::mutex> lock(state->mu);
      if (!state->reaped) {
        if (state->pidfd >= 0) {
          r = syscall(SYS_pidfd_send_signal, state->pidfd, sig, nullptr, 0) == 0 ? 0 : -errno;
        } else {
          r = kill(state->pid, sig) == 0 ? 0 : -errno;
        }
      }
    }
    return Napi::Number::New(info.Env(), r);
  }
};

class Addon : public Napi::Addon<Addon> {
 public:
  Addon(Napi::Env env, Napi::Object exports) {
    DefineAddon(exports, {
                             InstanceMethod("spawn", &Addon::SpawnJs),
                             InstanceMethod("features", &Addon::FeaturesJs),
                         });
    child_class_ = Napi::Persistent(ChildHandle::Class(env));
    napi_add_env_cleanup_hook(env, &Addon::Cleanup, this);
  }

  std::unordered_set<Watch*> watches;
  Napi::FunctionReference child_class_;

 private:
  static void Cleanup(void* arg) {
    auto* self = static_cast<Addon*>(arg);
    // The environment (a worker) is going away with children still running: hand each one to
    // a thread that reaps it whenever it ends, so no zombie is left behind.
    for (Watch* w : self->watches) {
      std::shared_ptr<ChildState> st = w->state;
      {
        std::lock_guard<std::mutex> lock(st->mu);
        st->detached = true;
      }
      if (!w->thread_mode) {
        uv_poll_stop(&w->poll);
        StartThread([st] { ReapBlocking(st); });  // no thread: the child stays a zombie
      }
      w->on_exit.Reset();
      delete w->async_context;
      w->async_context = nullptr;
      w->delivered = true;
      w->Close();
    }
    self->watches.clear();
  }

  Napi::Value FeaturesJs(const Napi::CallbackInfo& info) {
    const Features& f = DetectFeatures();
    Napi::Object out = Napi::Object::New(info.Env());
    out.Set("pidfd", f.pidfd);
    out.Set("closeRange", f.close_range);
    return out;
  }

  Napi::Value SpawnJs(const Napi::CallbackInfo& info);
};

// Calls onExit(code, signo). Raw Node-API, tolerant of failure: while a worker is being
// terminated no JavaScript may run, and node-addon-api would turn that failure into a fatal
// error. The callback only settles a promise, so nothing is lost by skipping it then.
void Watch::Deliver() {
  if (delivered) return;
  delivered = true;
  addon->watches.erase(this);
  int code, signo;
  {
    std::lock_guard<std::mutex> lock(state->mu);
    code = state->exit_code;
    signo = state->signo;
  }
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value fn, global, argv[2];
  bool ready = napi_get_reference_value(env, on_exit.operator napi_ref(), &fn) == napi_ok &&
               fn != nullptr && napi_get_global(env, &global) == napi_ok &&
               napi_create_int32(env, code, &argv[0]) == napi_ok &&
               napi_create_int32(env, signo, &argv[1]) == napi_ok;
  if (ready) {
    napi_status status =
        napi_make_callback(env, *async_context, global, fn, 2, argv, nullptr);
    if (status != napi_ok) {
      napi_value ignored;
      napi_get_and_clear_last_exception(env, &ignored);
    }
  }
  napi_close_handle_scope(env, scope);
  on_exit.Reset();
  delete async_context;
  async_context = nullptr;
}

void Watch::Close() {
  if (thread_mode) {
    uv_close(reinterpret_cast<uv_handle_t*>(&async),
             [](uv_handle_t* h) { delete static_cast<Watch*>(h->data); });
  } else {
    uv_close(reinterpret_cast<uv_handle_t*>(&poll), [](uv_handle_t* h) {
      auto* w = static_cast<Watch*>(h->data);
      std::lock_guard<std::mutex> lock(w->state->mu);
      if (w->state->pidfd >= 0 && w->state->reaped) {
        close(w->state->pidfd);
        w->state->pidfd = -1;
      }
      delete w;
    });
  }
}

void OnPidfdReadable(uv_poll_t* handle, int status, int events) {
  auto* w = static_cast<Watch*>(handle->data);
  ChildState* st = w->state.get();
  siginfo_t info{};
  int r;
  do {
    r = waitid(static_cast<idtype_t>(P_PIDFD), st->pidfd, &info, WEXITED | WNOHANG);
  } while (r < 0 && errno == EINTR);
  if (r == 0 && info.si_pid == 0) return;  // spurious wakeup: not exited yet
  {
    std::lock_guard<std::mutex> lock(st->mu);
    st->reaped = true;
    if (r == 0) Decode(info, st);
  }
  uv_poll_stop(handle);
  w->Deliver();
  w->Close();
}

// Reads the request, checking every type: a wrong one throws and nothing is started.
bool ParseRequest(Napi::Env env, Napi::Object o, SpawnRequest* req) {
  auto strings = [&](const char* key, std::vector<std::string>* out) {
    Napi::Value v = o.Get(key);
    if (!v.IsArray()) return false;
    Napi::Array arr = v.As<Napi::Array>();
    for (uint32_t i = 0; i < arr.Length(); i++) {
      Napi::Value e = arr.Get(i);
      if (!e.IsString()) return false;
      out->push_back(e.As<Napi::String>().Utf8Value());
    }
    return true;
  };
  auto ints = [&](const char* key, std::vector<int>* out) {
    Napi::Value v = o.Get(key);
    if (!v.IsArray()) return false;
    Napi::Array arr = v.As<Napi::Array>();
    for (uint32_t i = 0; i < arr.Length(); i++) {
      Napi::Value e = arr.Get(i);
      if (!e.IsNumber()) return false;
      out->push_back(e.As<Napi::Number>().Int32Value());
    }
    return true;
  };
  std::vector<int> stdio;
  Napi::Value dir = o.Get("dir");
  bool ok = strings("candidates", &req->candidates) && strings("argv", &req->argv) &&
            strings("envp", &req->envp) && strings("nsPaths", &req->ns_paths) &&
            ints("nsTypes", &req->ns_types) && ints("stdio", &stdio) && stdio.size() == 3 &&
            dir.IsString() && req->ns_paths.size() == req->ns_types.size();
  if (env.IsExceptionPending()) return false;  // a getter threw
  if (!ok) {
    Napi::TypeError::New(env, "spawn: malformed request").ThrowAsJavaScriptException();
    return false;
  }
  req->dir = dir.As<Napi::String>().Utf8Value();
  for (int i = 0; i < 3; i++) req->stdio[i] = stdio[i];
  return !env.IsExceptionPending();
}

Napi::Value Failure(Napi::Env env, int err, const char* syscall_name, int index) {
  Napi::Object out = Napi::Object::New(env);
  out.Set("ok", false);
  out.Set("errno", err);
  out.Set("syscall", syscall_name);
  out.Set("index", index);
  return out;
}

// The child could not be watched: end it here, synchronously, and release what it had.
void Abandon(const SpawnResult& res) {
  kill(res.pid, SIGKILL);
  int status;
  while (waitpid(res.pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (res.pidfd >= 0) close(res.pidfd);
  for (int fd : res.fds) {
    if (fd >= 0) close(fd);
  }
}

Napi::Value Addon::SpawnJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 2 || !info[0].IsObject() || !info[1].IsFunction()) {
    Napi::TypeError::New(env, "spawn(request, onExit)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  SpawnRequest req;
  if (!ParseRequest(env, info[0].As<Napi::Object>(), &req)) return env.Undefined();

  // Every JavaScript object the result needs exists before the child does: once it runs,
  // nothing may fail (a worker being terminated makes calls into JavaScript fail).
  Napi::Object out = Napi::Object::New(env);
  Napi::Object child = child_class_.New({});
  if (env.IsExceptionPending() || child.IsEmpty()) return env.Undefined();
  ChildHandle* handle = ChildHandle::Unwrap(child);
  Napi::Array fds = Napi::Array::New(env, 3);
  if (handle == nullptr || env.IsExceptionPending()) return env.Undefined();
  uv_loop_t* loop = nullptr;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok || loop == nullptr) return env.Undefined();

  SpawnResult res;
  if (!Spawn(req, &res)) return Failure(env, res.err, res.syscall, res.index);

  auto state = std::make_shared<ChildState>();
  state->pid = res.pid;
  state->pidfd = res.pidfd;

  auto* w = new Watch();
  w->addon = this;
  w->env = env;
  w->state = state;
  w->on_exit = Napi::Persistent(info[1].As<Napi::Function>());
  w->async_context = new Napi::AsyncContext(env, "NsenterChild");

  bool polled = false;
  if (res.pidfd >= 0 && uv_poll_init(loop, &w->poll, res.pidfd) == 0) {
    w->poll.data = w;
    polled = uv_poll_start(&w->poll, UV_READABLE, OnPidfdReadable) == 0;
    if (!polled) {
      uv_close(reinterpret_cast<uv_handle_t*>(&w->poll), nullptr);
      // The Watch must outlive the close: it is freed with the thread-mode handle below.
    }
  }
  if (!polled) {
    w->thread_mode = true;
    int r = uv_async_init(loop, &w->async, [](uv_async_t* h) {
      auto* watch = static_cast<Watch*>(h->data);
      watch->Deliver();
      watch->Close();
    });
    if (r != 0) {
      Abandon(res);
      w->on_exit.Reset();
      delete w->async_context;
      delete w;
      return Failure(env, -r, "uv_async_init", -1);
    }
    w->async.data = w;
    // The thread holds the state, and the Watch only while not detached: uv_async_send happens
    // under the lock, and Cleanup sets `detached` under the same lock.
    if (!StartThread([state, w] {
          ReapBlocking(state);
          std::lock_guard<std::mutex> lock(state->mu);
          if (!state->detached) uv_async_send(&w->async);
        })) {
      int err = errno;
      Abandon(res);
      state->pidfd = -1;  // closed by Abandon
      {
        std::lock_guard<std::mutex> lock(state->mu);
        state->reaped = true;
      }
      w->on_exit.Reset();
      delete w->async_context;
      w->async_context = nullptr;
      w->delivered = true;
      w->Close();
      return Failure(env, err, "pthread_create", -1);
    }
  }
  watches.insert(w);
  handle->state = state;

  for (uint32_t i = 0; i < 3; i++) fds.Set(i, res.fds[i]);
  out.Set("ok", true);
  out.Set("pid", res.pid);
  out.Set("fds", fds);
  out.Set("child", child);
  return out;
}

}  // namespace
}  // namespace nsenter

using NsenterAddon = nsenter::Addon;
NODE_API_ADDON(NsenterAddon)
