{
  "targets": [
    {
      "target_name": "multiprocessing_native",
      "sources": [
        "src/addon.cc",
        "src/segments.cc",
        "src/futex.cc",
        "src/async-wait.cc",
        "src/futex-core.cc",
        "src/wait-pool.cc",
        "src/fd-core.cc",
        "src/parent-death.cc",
        "src/stay-loaded.cc"
      ],
      "cflags_cc": [
        "-Wall",
        "-Wextra",
        "-Wno-unused-parameter",
        "-Wno-cast-function-type"
      ],
      "conditions": [
        [
          "OS!='linux'",
          {
            "type": "none",
            "sources": []
          }
        ]
      ]
    },
    {
      "target_name": "multiprocessing_napi",
      "sources": [
        "src/napi-addon.cc",
        "src/futex-core.cc",
        "src/wait-pool.cc",
        "src/fd-core.cc",
        "src/parent-death.cc",
        "src/stay-loaded.cc"
      ],
      "cflags_cc": [
        "-Wall",
        "-Wextra",
        "-Wno-unused-parameter"
      ],
      "conditions": [
        [
          "OS!='linux'",
          {
            "type": "none",
            "sources": []
          }
        ]
      ]
    }
  ]
}
