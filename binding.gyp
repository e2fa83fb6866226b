{
  "variables": {
    "has_rdma_headers": "<!(node scripts/has-rdma-headers.mjs)"
  },
  "targets": [
    {
      "target_name": "fabric_transport",
      "sources": [
        "native/addon.cc",
        "native/cuda_host.cc",
        "native/environment.cc",
        "native/fd_watcher.cc",
        "native/loop_callback.cc",
        "native/socket_io.cc",
        "native/socket_watcher.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": [
        "NAPI_VERSION=8",
        "NAPI_DISABLE_CPP_EXCEPTIONS",
        "NODE_ADDON_API_DISABLE_DEPRECATED",
        "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS"
      ],
      "cflags_cc": ["-std=c++17", "-Wall", "-Wextra", "-fvisibility=hidden"],
      "libraries": ["-ldl"],
      "conditions": [
        [
          "has_rdma_headers==1",
          {
            "sources": [
              "native/rdma_api.cc",
              "native/devices.cc",
              "native/cm_events.cc",
              "native/endpoint.cc"
            ],
            "defines": ["FABRIC_HAVE_RDMA"]
          }
        ]
      ]
    }
  ]
}
