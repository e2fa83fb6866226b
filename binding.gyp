{
  "variables": {
    "has_rdma_headers": "<!(node scripts/has-rdma-headers.mjs)"
  },
  "targets": [
    {
      "target_name": "fabric_transport",
      "sources": [
        "native/common/addon.cc",
        "native/common/descriptor_watcher.cc",
        "native/common/environment.cc",
        "native/common/fd_watcher.cc",
        "native/common/loop_callback.cc",
        "native/tcp/tcp_exports.cc",
        "native/tcp/socket_io.cc",
        "native/shm/shm_exports.cc",
        "native/shm/owned_descriptors.cc",
        "native/shm/arguments.cc",
        "native/shm/shm_memory.cc",
        "native/shm/event_fd.cc",
        "native/shm/descriptor_passing.cc",
        "native/shm/process_copy.cc",
        "native/cuda/cuda_exports.cc",
        "native/cuda/cuda_host.cc"
      ],
      "include_dirs": ["native", "<!(node -p \"require('node-addon-api').include_dir\")"],
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
              "native/verbs/verbs_exports.cc",
              "native/verbs/rdma_api.cc",
              "native/verbs/devices.cc",
              "native/verbs/cm_events.cc",
              "native/verbs/endpoint.cc",
              "native/verbs/memory_region.cc"
            ],
            "defines": ["FABRIC_HAVE_RDMA"]
          }
        ]
      ]
    }
  ]
}
