// Run with CONV1X1_BLAS naming a file that cannot be used as the BLAS (a shared library that is not a
// BLAS, a text file, an empty file): every 1×1 convolution, sync or async, functional or through a
// layer, and backend() must fail with Conv1x1Error ERR_BLAS_LOAD naming the reason, async calls by
// rejecting; and the process must still exit 0 by itself.
'use strict';
const { lib, report, tensor, thrown, rejection } = require('./common.cjs');

const x = tensor([1, 8, 4, 4], 1), w = tensor([4, 8], 2);

async function main() {
  const outcomes = {};
  outcomes['backend()'] = thrown(() => lib.backend());
  outcomes['conv1x1'] = thrown(() => lib.conv1x1(x, w));
  outcomes['conv1x1Async'] = await rejection(lib.conv1x1Async(x, w));
  let conv = null;
  outcomes['new Conv1x1'] = thrown(() => { conv = new lib.Conv1x1({ inChannels: 8, outChannels: 4, weight: w }); });
  if (conv) {
    outcomes['Conv1x1.forward'] = thrown(() => conv.forward(x));
    outcomes['Conv1x1.forwardAsync'] = await rejection(conv.forwardAsync(x));
    outcomes['Conv1x1.backend(shape)'] = thrown(() => conv.backend(x.shape));
  }
  let linear = null;
  outcomes['new Linear'] = thrown(() => { linear = new lib.Linear({ inFeatures: 8, outFeatures: 4, weight: w }); });
  if (linear) {
    outcomes['Linear.forward'] = thrown(() => linear.forward(tensor([2, 8], 3)));
    outcomes['Linear.forwardAsync'] = await rejection(linear.forwardAsync(tensor([2, 8], 3)));
  }
  if (conv) {
    const model = new lib.Sequential([conv, new lib.GlobalAvgPool()]);
    outcomes['Sequential.forward'] = thrown(() => model.forward(x));
    outcomes['Sequential.forwardAsync'] = await rejection(model.forwardAsync(x));
  }
  outcomes['setThreads'] = thrown(() => lib.setThreads(1));
  outcomes['setEngine'] = thrown(() => lib.setEngine('builtin'));
  // Not a 1×1 convolution: the depthwise kernel never uses a BLAS.
  const depthwise = new lib.DepthwiseConv2d({ channels: 8, kernelSize: 3, padding: 1, weight: tensor([8, 1, 3, 3], 4) });
  const depthwiseOutcome = { sync: thrown(() => depthwise.forward(x)), async: await rejection(depthwise.forwardAsync(x)) };
  report({ library: process.env.CONV1X1_BLAS, outcomes, depthwise: depthwiseOutcome });
}

main().catch((error) => { console.error(error); process.exitCode = 1; });
