// layer.close() for every layer kind that holds native weights, directly or through its parts:
// Conv1x1, DepthwiseConv2d, Linear, SeparableConv2d, Residual and Sequential. Closed while async calls
// run: those calls resolve with the right values, and close() resolves only after all of them. Then
// forward throws ERR_CLOSED, forwardAsync rejects with it (never throws), Conv1x1's backend(shape)
// throws it, a composite's parts are closed too, and closing again is harmless.
'use strict';
const { lib, report, tensor, same, thrown, describeError, rejection } = require('./common.cjs');

const C = 48, H = 40, W = 40;
const x4 = tensor([1, C, H, W], 21);
const conv = (cin, cout, seed, activation = 'relu') => new lib.Conv1x1({ inChannels: cin, outChannels: cout, weight: tensor([cout, cin], seed), bias: tensor([cout], seed + 1).data, activation });
const depthwise = (channels, seed) => new lib.DepthwiseConv2d({ channels, kernelSize: 3, padding: 1, weight: tensor([channels, 1, 3, 3], seed), bias: tensor([channels], seed + 1).data, activation: 'relu6' });

const KINDS = {
  Conv1x1: () => ({ layer: conv(C, 64, 30), input: x4, parts: [] }),
  DepthwiseConv2d: () => ({ layer: depthwise(C, 31), input: x4, parts: [] }),
  Linear: () => ({
    layer: new lib.Linear({ inFeatures: 512, outFeatures: 256, weight: tensor([256, 512], 32), bias: tensor([256], 33).data }),
    input: tensor([64, 512], 34),
    parts: [],
  }),
  SeparableConv2d: () => {
    const layer = new lib.SeparableConv2d({
      inChannels: C, outChannels: 64, kernelSize: 3, padding: 1,
      depthwiseWeight: tensor([C, 1, 3, 3], 35), depthwiseActivation: 'relu6', pointwiseWeight: tensor([64, C], 36), activation: 'relu',
    });
    return { layer, input: x4, parts: [layer.depthwise, layer.pointwise] };
  },
  Residual: () => {
    const parts = [conv(C, 96, 37), depthwise(96, 38), conv(96, C, 39, 'none')];
    return { layer: new lib.Residual(new lib.Sequential(parts), { activation: 'relu' }), input: x4, parts };
  },
  Sequential: () => {
    const parts = [conv(C, 64, 40), depthwise(64, 41), conv(64, 96, 42)];
    const head = new lib.Linear({ inFeatures: 96, outFeatures: 10, weight: tensor([10, 96], 43) });
    return { layer: new lib.Sequential([...parts, new lib.GlobalAvgPool(), head]), input: x4, parts: [...parts, head] };
  },
};

async function closeWhileRunning(kind) {
  const { layer, input, parts } = KINDS[kind]();
  const expected = layer.forward(input).data;
  let sequence = 0;
  const calls = Array.from({ length: 6 }, () => layer.forwardAsync(input).then(
    (y) => ({ order: ++sequence, correct: same(y.data, expected) }),
    (error) => ({ order: ++sequence, error: describeError(error) }),
  ));
  let closeOrder = null;
  const closing = layer.close().then(() => { closeOrder = ++sequence; });
  // Right after close(), before the running calls settle:
  const forwardWhileClosing = thrown(() => layer.forward(input));
  let asyncThrewSync = false, asyncWhileClosing;
  try { asyncWhileClosing = rejection(layer.forwardAsync(input)); } catch (error) { asyncThrewSync = true; asyncWhileClosing = describeError(error); }
  const backendWhileClosing = typeof layer.backend === 'function' ? thrown(() => layer.backend(input.shape)) : null;
  const results = await Promise.all(calls);
  await closing;
  const secondClose = await layer.close().then(() => 'resolved', describeError);
  return {
    kind,
    inFlight: results.length,
    correct: results.filter((r) => r.correct).length,
    failures: results.filter((r) => !r.correct).map((r) => r.error ?? 'wrong values'),
    lastCallOrder: Math.max(...results.map((r) => r.order)),
    closeOrder,
    forwardWhileClosing,
    asyncThrewSync,
    asyncWhileClosing: await asyncWhileClosing,
    backendWhileClosing,
    forwardAfter: thrown(() => layer.forward(input)),
    asyncAfter: await rejection(layer.forwardAsync(input)),
    backendAfter: typeof layer.backend === 'function' ? thrown(() => layer.backend(input.shape)) : null,
    partsAfter: parts.map((part) => thrown(() => part.forward(part === parts[0] ? input : tensor(partInputShape(layer, parts, part), 1)))),
    secondClose,
    isConv1x1Error: (() => { try { layer.forward(input); return false; } catch (e) { return e instanceof lib.Conv1x1Error; } })(),
  };
}

// The input shape a part of a composite sees (for calling it directly after close).
function partInputShape(layer, parts, part) {
  let shape = [1, C, H, W];
  const chain = layer.layers ?? layer.block?.layers ?? [layer.depthwise, layer.pointwise];
  for (const l of chain) { if (l === part) return shape; shape = l.outputShape(shape); }
  throw new Error('part not found');
}

async function main() {
  const kinds = [];
  for (const kind of Object.keys(KINDS)) kinds.push(await closeWhileRunning(kind));
  // Closing a layer with nothing in flight resolves at once.
  const idle = KINDS.Conv1x1().layer;
  const idleClose = await Promise.race([idle.close().then(() => 'resolved'), new Promise((r) => setTimeout(() => r('pending after 1 s'), 1000))]);
  // A rejection nobody handles (a closed layer's forwardAsync) is still reported as unhandled.
  const unhandled = [];
  process.on('unhandledRejection', (error) => unhandled.push(`${error?.code}: ${error?.message}`));
  for (const kind of Object.keys(KINDS)) {
    const { layer, input } = KINDS[kind]();
    await layer.close();
    layer.forwardAsync(input);  // deliberately unhandled
  }
  await new Promise((resolve) => setTimeout(resolve, 20));
  report({ kinds, idleClose, unhandled, queueAfter: lib.backend().queue });
}

main().catch((error) => { console.error(error); process.exitCode = 1; });
