{
  # One graph of targets: the kernel files, each built for its own instruction set (the only files
  # that get ISA flags, so a prebuilt binary still runs on an SSE2-only CPU), and the addon.
  "variables": {
    # GCC's loop vectorizer would pick the K loop over the unrolled register tile (~10x slower);
    # its SLP vectorizer (left on) turns the tile into vector code. Clang: -fno-vectorize likewise.
    "kernel_cflags": ["-O3", "-fPIC", "-fno-tree-loop-vectorize"],
    "kernel_xcode_flags": ["-fno-vectorize"],
    "kernel_avx2_flags": ["-mavx2", "-mfma"],
    "kernel_avx2_msvc_flags": ["/arch:AVX2"],
    "kernel_avx512_flags": ["-mavx512f", "-mavx2", "-mfma"],
    "kernel_avx512_msvc_flags": ["/arch:AVX512"]
  },
  "target_defaults": {
    # SWALLOW_UNTHROWABLE_EXCEPTIONS: an error raised while a worker_thread's environment is being
    # torn down cannot be thrown into JS; node-addon-api then drops it instead of aborting the process.
    "variables": {
      # -Dsanitize=1: AddressSanitizer + UBSan build for scripts/test-asan.sh (the .node then needs
      # the sanitizer runtimes in LD_PRELOAD, since node itself is not instrumented).
      "sanitize%": 0,
      "sanitize_flags": ["-fsanitize=address,undefined", "-fno-omit-frame-pointer", "-g", "-O1"]
    },
    "cflags_cc": ["-O3", "-fvisibility=hidden"],
    # NAPI_VERSION 7, the lowest level with everything the binding calls: napi_is_detached_arraybuffer
    # (7) and instance data (6). The headers then hide anything newer, and every Node this package
    # supports (>= 20, N-API 9) loads the one prebuilt binary.
    "defines": ["NAPI_VERSION=7", "NODE_API_NO_EXTERNAL_BUFFERS_ALLOWED", "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS"],
    "xcode_settings": {
      "GCC_SYMBOLS_PRIVATE_EXTERN": "YES",
      "GCC_OPTIMIZATION_LEVEL": "3",
      "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
      "CLANG_CXX_LIBRARY": "libc++"
    },
    "msvs_settings": {
      "VCCLCompilerTool": { "AdditionalOptions": ["/std:c++17", "/O2"] }
    },
    # target_conditions are applied after each target's own flags, so the sanitizer's -O1 comes
    # last and wins over the kernels' -O3. Linker flags too, or the link fails (node-gyp#2136).
    "target_conditions": [
      # node-addon-api's settings lower the addon's macOS target to 10.7, too old for the C++17
      # library; target_conditions are applied after them, so this value wins.
      ["OS=='mac'", { "xcode_settings": { "MACOSX_DEPLOYMENT_TARGET": "10.15" } }],
      ["sanitize==1", {
        "cflags": ["<@(sanitize_flags)"],
        "cflags_cc": ["<@(sanitize_flags)"],
        "ldflags": ["<@(sanitize_flags)"]
      }]
    ]
  },
  "targets": [
    {
      "target_name": "kernels_portable",
      "type": "static_library",
      # node-gyp would compile its node.exe delay-load hook into every target; it belongs in the .node.
      "win_delay_load_hook": "false",
      "sources": ["native/kernels/gemm_blocked_portable.cc", "native/kernels/pointwise_scalar.cc"],
      "conditions": [
        # NEON is part of the arm64 baseline: its kernels need no flags of their own.
        ["target_arch=='arm64'", { "sources": ["native/kernels/pointwise_neon.cc"] }]
      ],
      "cflags_cc": ["<@(kernel_cflags)"],
      "xcode_settings": { "OTHER_CPLUSPLUSFLAGS": ["<@(kernel_xcode_flags)"] }
    },
    {
      "target_name": "kernels_avx2",
      "type": "none",
      "win_delay_load_hook": "false",
      "conditions": [
        ["target_arch=='x64'", {
          "type": "static_library",
          "sources": ["native/kernels/gemm_blocked_avx2.cc", "native/kernels/pointwise_avx2.cc"],
          "cflags_cc": ["<@(kernel_cflags)", "<@(kernel_avx2_flags)"],
          "xcode_settings": { "OTHER_CPLUSPLUSFLAGS": ["<@(kernel_xcode_flags)", "<@(kernel_avx2_flags)"] },
          "msvs_settings": { "VCCLCompilerTool": { "AdditionalOptions": ["<@(kernel_avx2_msvc_flags)"] } }
        }]
      ]
    },
    {
      "target_name": "kernels_avx512",
      "type": "none",
      "win_delay_load_hook": "false",
      "conditions": [
        ["target_arch=='x64'", {
          "type": "static_library",
          "sources": ["native/kernels/gemm_blocked_avx512.cc", "native/kernels/pointwise_avx512.cc"],
          "cflags_cc": ["<@(kernel_cflags)", "<@(kernel_avx512_flags)"],
          "xcode_settings": { "OTHER_CPLUSPLUSFLAGS": ["<@(kernel_xcode_flags)", "<@(kernel_avx512_flags)"] },
          "msvs_settings": { "VCCLCompilerTool": { "AdditionalOptions": ["<@(kernel_avx512_msvc_flags)"] } }
        }]
      ]
    },
    {
      "target_name": "conv1x1",
      "sources": [
        "native/core/plan.cc",
        "native/core/gather.cc",
        "native/core/epilogue.cc",
        "native/core/conv1x1.cc",
        "native/core/call_scratch.cc",
        "native/core/kept_buffers.cc",
        "native/core/packed_weights.cc",
        "native/core/packed_conv.cc",
        "native/core/work_split.cc",
        "native/core/depthwise.cc",
        "native/gemm/blas_backend.cc",
        "native/gemm/builtin_backend.cc",
        "native/gemm/backend_registry.cc",
        "native/gemm/pointwise_selection.cc",
        "native/platform/cpu_features.cc",
        "native/platform/dynamic_library.cc",
        "native/platform/parallel.cc",
        "native/platform/compute_slots.cc",
        "native/platform/queue_budget.cc",
        "native/binding/js_errors.cc",
        "native/binding/js_args.cc",
        "native/binding/call_buffers.cc",
        "native/binding/conv_job.cc",
        "native/binding/scratch_pool.cc",
        "native/binding/conv_worker.cc",
        "native/binding/conv_calls.cc",
        "native/binding/prepared_conv.cc",
        "native/binding/prepared_depthwise.cc",
        "native/binding/depthwise_job.cc",
        "native/binding/layer_chain.cc",
        "native/binding/prepared_chain.cc",
        "native/binding/addon.cc"
      ],
      "dependencies": [
        "<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except",
        "kernels_portable"
      ],
      # The core reports failures by C++ exception (node-addon-api's except target says so too; the
      # kernel libraries throw nothing and keep node's defaults).
      "cflags_cc!": ["-fno-exceptions"],
      "xcode_settings": { "GCC_ENABLE_CPP_EXCEPTIONS": "YES" },
      "msvs_settings": { "VCCLCompilerTool": { "ExceptionHandling": 1 } },
      "conditions": [
        ["target_arch=='x64'", { "dependencies": ["kernels_avx2", "kernels_avx512"] }],
        ["OS=='linux'", { "libraries": ["-ldl", "-pthread"] }]
      ]
    }
  ]
}
