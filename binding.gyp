{
  "variables": {
    "sanitize%": 0
  },
  "targets": [
    {
      "target_name": "nsenter_native",
      "sources": ["native/binding.cc", "native/spawn.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS", "_GNU_SOURCE"],
      "cflags": ["-Wall", "-Wextra", "-Wno-unused-parameter", "-fvisibility=hidden"],
      "cflags_cc": ["-std=c++17", "-fno-exceptions"],
      # Bind every symbol at load: the child runs under CLONE_VM, where a first call through a
      # lazy PLT entry would enter the dynamic linker (and its locks) in the parent's memory.
      "ldflags": ["-Wl,-z,now", "-Wl,-z,relro"],
      "conditions": [
        [
          "sanitize==1",
          {
            "cflags": ["-fsanitize=address,undefined", "-fno-omit-frame-pointer", "-O1", "-g"],
            "ldflags": ["-fsanitize=address,undefined"]
          }
        ]
      ]
    }
  ]
}
