{
  "targets": [
    {
      # The netlink / namespace core, free of Node-API (CMakeLists.txt builds
      # it as the nsnet_core library, for C++ runtimes to embed).
      "target_name": "nsnet_core",
      "type": "static_library",
      "sources": [
        "native/core/link_schema.cc",
        "native/core/link_stats.cc",
        "native/core/namespace_move.cc",
        "native/core/namespace_pids.cc",
        "native/core/netlink_message.cc",
        "native/core/netlink_reply.cc",
        "native/core/netlink_socket.cc",
        "native/core/netns.cc",
        "native/core/nft_encode.cc",
        "native/core/rtnl_encode.cc",
        "native/core/rtnl_events.cc",
        "native/core/rtnl_neighbour.cc",
        "native/core/rtnl_parse.cc",
        "native/core/state_files.cc",
        "native/core/tc_encode.cc"
      ],
      "defines": ["_GNU_SOURCE"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++17"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-fPIC", "-Wall", "-Wextra"],
      "direct_dependent_settings": {"include_dirs": ["native/core"]}
    },
    {
      "target_name": "nsnet",
      "dependencies": ["nsnet_core"],
      "sources": [
        "native/addon/addon.cc",
        "native/addon/js_convert.cc",
        "native/addon/neighbour_convert.cc",
        "native/addon/netlink_events.cc",
        "native/addon/netlink_handle.cc",
        "native/addon/promise_worker.cc",
        "native/addon/tc_addon.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "_GNU_SOURCE"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++17"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-Wall", "-Wextra"]
    },
    {
      "target_name": "nsnet-exec",
      "type": "executable",
      "sources": ["programs/nsnet_exec.c"],
      "cflags": ["-Wall", "-Wextra"]
    },
    {
      "target_name": "nsnet-cni",
      "type": "executable",
      "sources": ["programs/nsnet_cni.c"],
      "cflags": ["-Wall", "-Wextra", "-O2"],
      # Static: a runtime starts it for every call, so no dynamic loading each time;
      # and without the C library where it can be (see the program's comment).
      "ldflags": ["-static"],
      "conditions": [
        ["target_arch=='x64' or target_arch=='arm64'", {
          "defines": ["NSNET_FREESTANDING"],
          "cflags": ["-ffreestanding", "-fno-stack-protector", "-fno-asynchronous-unwind-tables"],
          "ldflags": ["-nostdlib"]
        }]
      ]
    },
    {
      # What nsnet-cni executes when no CNI service answers: starts one, or runs the plugin in node.
      "target_name": "nsnet-cni-start",
      "type": "executable",
      "sources": ["programs/nsnet_cni_start.c"],
      "cflags": ["-Wall", "-Wextra", "-O2"],
      "ldflags": ["-static"]
    }
  ]
}
