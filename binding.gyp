{
  "targets": [
    {
      "target_name": "nsnet",
      "sources": [
        "native/addon.cc",
        "native/js_convert.cc",
        "native/netlink_handle.cc",
        "native/netlink_message.cc",
        "native/netlink_socket.cc",
        "native/netns.cc",
        "native/nft_encode.cc",
        "native/promise_worker.cc",
        "native/rtnl_encode.cc",
        "native/rtnl_parse.cc",
        "native/state_files.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "_GNU_SOURCE"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++17"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-Wall", "-Wextra"]
    },
    {
      "target_name": "nsnet-exec",
      "type": "executable",
      "sources": ["native/nsnet_exec.c"],
      "cflags": ["-Wall", "-Wextra"]
    },
    {
      "target_name": "nsnet-cni",
      "type": "executable",
      "sources": ["native/nsnet_cni.c"],
      "cflags": ["-Wall", "-Wextra", "-O2"],
      # Static: a runtime starts it for every call, so no dynamic loading each time.
      "ldflags": ["-static"]
    }
  ]
}
