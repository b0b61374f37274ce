#include "conv1x1.h"

#include <algorithm>
#include <cstring>
#include <new>

#include "error.h"
#include "gather.h"

namespace conv1x1 {
namespace {

std::vector<float> allocate_scratch(int64_t elements) {
  try {
    return std::vector<float>(static_cast<size_t>(elements));
  } catch (const std::bad_alloc&) {
    throw Error(ErrorCode::OutOfMemory, "could not allocate " + std::to_string(elements * 4) +
                                            " bytes of scratch for a strided or padded convolution");
  }
}

// The product of one group when K = Cin/g is 1 (depthwise and channel multipliers): an outer
// product, cheaper inline than a BLAS call per channel.
void outer_product(const GemmArgs& g) {
  for (int64_t i = 0; i < g.m; ++i) {
    float* c = g.c + i * g.ldc;
    for (int64_t j = 0; j < g.n; ++j) {
      const float b = g.b_transposed ? g.b[j * g.ldb] : g.b[j];
      c[j] = g.a[i * g.lda] * b;
    }
  }
}

void multiply(const GemmArgs& args, const GemmBackend& gemm, int threads) {
  if (args.m == 0 || args.n == 0) return;
  if (args.k == 1) {
    outer_product(args);
  } else {
    gemm.sgemm(args, threads);
  }
}

void run_nchw(const ConvPlan& plan, const ConvTensors& t, const GemmBackend& gemm, int threads) {
  const ConvParams& p = plan.params;
  const int64_t cin_g = plan.in_channels_per_group, cout_g = plan.out_channels_per_group;
  const int64_t inner = plan.inner_pixels();
  std::vector<float> in_panel, out_panel;
  if (!plan.direct) {
    in_panel = allocate_scratch(p.in_channels * inner);
    out_panel = allocate_scratch(p.out_channels * inner);
  }
  for (int64_t n = 0; n < p.batch; ++n) {
    const float* x = t.input + n * p.in_channels * plan.in_pixels;
    float* y = t.output + n * p.out_channels * plan.out_pixels;
    const float* source = x;
    float* destination = y;
    int64_t columns = plan.out_pixels;
    if (!plan.direct) {
      gather_nchw(plan, x, in_panel.data());
      source = in_panel.data();
      destination = out_panel.data();
      columns = inner;
    }
    for (int64_t g = 0; g < p.groups; ++g) {
      GemmArgs args;
      args.m = cout_g;
      args.n = columns;
      args.k = cin_g;
      args.a = t.weight + g * cout_g * cin_g;
      args.lda = cin_g;
      args.b = source + g * cin_g * columns;
      args.ldb = columns;
      args.c = destination + g * cout_g * columns;
      args.ldc = columns;
      multiply(args, gemm, threads);
    }
    if (!plan.direct) scatter_nchw(plan, out_panel.data(), y);
  }
}

void run_nhwc(const ConvPlan& plan, const ConvTensors& t, const GemmBackend& gemm, int threads) {
  const ConvParams& p = plan.params;
  const int64_t cin_g = plan.in_channels_per_group, cout_g = plan.out_channels_per_group;
  int64_t rows = p.batch * plan.out_pixels;
  const float* source = t.input;
  float* destination = t.output;
  std::vector<float> in_panel, out_panel;
  if (!plan.direct) {
    rows = p.batch * plan.inner_pixels();
    in_panel = allocate_scratch(rows * p.in_channels);
    out_panel = allocate_scratch(rows * p.out_channels);
    gather_nhwc(plan, t.input, in_panel.data());
    source = in_panel.data();
    destination = out_panel.data();
  }
  for (int64_t g = 0; g < p.groups; ++g) {
    GemmArgs args;
    args.m = rows;
    args.n = cout_g;
    args.k = cin_g;
    args.a = source + g * cin_g;
    args.lda = p.in_channels;
    if (t.weight_pretransposed) {
      args.b = t.weight + g * cin_g * cout_g;
      args.ldb = cout_g;
    } else {
      args.b = t.weight + g * cout_g * cin_g;
      args.ldb = cin_g;
      args.b_transposed = true;
    }
    args.c = destination + g * cout_g;
    args.ldc = p.out_channels;
    if (args.k == 1) {
      // Row r of this group's output is x[r, g] times the group's weight column.
      for (int64_t r = 0; r < rows; ++r) {
        const float x = args.a[r * args.lda];
        float* c = args.c + r * args.ldc;
        for (int64_t j = 0; j < cout_g; ++j) {
          c[j] = x * (args.b_transposed ? args.b[j * args.ldb] : args.b[j]);
        }
      }
    } else if (rows > 0 && cout_g > 0) {
      gemm.sgemm(args, threads);
    }
  }
  if (!plan.direct) scatter_nhwc(plan, out_panel.data(), t.output);
}

}  // namespace

void run_conv(const ConvPlan& plan, const ConvTensors& t, const GemmBackend& gemm, int threads) {
  if (plan.output_elements == 0) return;
  const ConvParams& p = plan.params;
  if (plan.in_channels_per_group == 0 || plan.inner_pixels() == 0) {
    // No input reaches any output: every output is act(bias), and BLAS is never asked for K = 0.
    std::fill(t.output, t.output + plan.output_elements, 0.0f);
  } else if (p.layout == Layout::NCHW) {
    run_nchw(plan, t, gemm, threads);
  } else {
    run_nhwc(plan, t, gemm, threads);
  }
  Epilogue epilogue;
  epilogue.bias = t.bias;
  epilogue.activation = p.activation;
  epilogue.negative_slope = p.negative_slope;
  if (p.layout == Layout::NCHW) {
    for (int64_t n = 0; n < p.batch; ++n) {
      apply_epilogue(t.output + n * p.out_channels * plan.out_pixels, p.out_channels,
                     plan.out_pixels, plan.out_pixels, /*bias_per_row=*/true, epilogue);
    }
  } else {
    apply_epilogue(t.output, p.batch * plan.out_pixels, p.out_channels, p.out_channels,
                   /*bias_per_row=*/false, epilogue);
  }
}

std::vector<float> pretranspose_weights(const ConvPlan& plan, const float* weight) {
  if (plan.params.layout != Layout::NHWC || plan.in_channels_per_group <= 1) return {};
  const int64_t cin_g = plan.in_channels_per_group, cout_g = plan.out_channels_per_group;
  std::vector<float> transposed = allocate_scratch(plan.weight_elements);
  for (int64_t g = 0; g < plan.params.groups; ++g) {
    const float* w = weight + g * cout_g * cin_g;
    float* wt = transposed.data() + g * cin_g * cout_g;
    for (int64_t o = 0; o < cout_g; ++o) {
      for (int64_t i = 0; i < cin_g; ++i) wt[i * cout_g + o] = w[o * cin_g + i];
    }
  }
  return transposed;
}

}  // namespace conv1x1
