// Peer: TensorFlow.js on its WebAssembly backend (XNNPACK), tf.conv2d on NHWC then tf.add for the bias.
// The wasm Conv2D accepts channelsLast only, so for an 'nchw' shape prepareInput (NCHW → NHWC) and
// restoreOutput are copies the runner makes outside the timed run(), and outputLayout says 'nhwc'.
// tfjs-core has no grouped conv2d: groups > 1 is unsupported (create returns null; supports says why).
// In Node tfjs picks the single-threaded SIMD binary (WASM_HAS_MULTITHREAD_SUPPORT is false under
// IS_NODE), so a `threads` request is passed on but the backend reports and uses 1 thread.

import { createRequire } from 'node:module';
import path from 'node:path';

import { checkConvShape, layoutAdapter } from './conv-shape.mjs';

const require = createRequire(import.meta.url);

// The backend is process-global in tfjs: it is initialized once, with the first caller's thread request.
let backendReady;
function initBackend(threads) {
  backendReady ??= (async () => {
    const tf = await import('@tensorflow/tfjs-core');
    const wasmModule = await import('@tensorflow/tfjs-backend-wasm');
    const wasm = wasmModule.setWasmPaths ? wasmModule : wasmModule.default;
    // A directory path ending in a separator: the backend reads the .wasm from disk, no fetch.
    const wasmDir = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
    wasm.setWasmPaths(wasmDir + path.sep);
    wasm.setThreadsCount(threads);
    if (!(await tf.setBackend('wasm'))) throw new Error('tf.setBackend("wasm") returned false');
    await tf.ready();
    return {
      tf,
      version: wasm.version_wasm,
      threads: wasm.getThreadsCount(),
      simd: tf.env().getBool('WASM_HAS_SIMD_SUPPORT'),
    };
  })();
  return backendReady;
}

export async function available() {
  try {
    const { version } = await initBackend(1);
    return { ok: true, version };
  } catch (error) {
    return { ok: false, reason: `tfjs wasm backend cannot start: ${error.message}` };
  }
}

export function supports(shape) {
  checkConvShape(shape);
  if ((shape.groups ?? 1) > 1) return { ok: false, reason: 'tf.conv2d has no groups (tfjs has no grouped convolution)' };
  return { ok: true };
}

export async function createTfjsWasmConv(shape, { threads = 1 } = {}) {
  if (!supports(shape).ok) return null;
  const backend = await initBackend(threads);
  const { tf } = backend;
  const { n, cin, cout, h, w, stride = 1, layout = 'nchw', weight, bias = null } = shape;

  // weight is [cout, cin] (OI); tf.conv2d wants the filter as [1, 1, cin, cout] (HWIO).
  const hwio = new Float32Array(cin * cout);
  for (let oc = 0; oc < cout; oc++) {
    for (let ic = 0; ic < cin; ic++) hwio[ic * cout + oc] = weight[oc * cin + ic];
  }
  const filter = tf.tensor4d(hwio, [1, 1, cin, cout]);
  const biasTensor = bias === null ? null : tf.tensor1d(bias);
  const inputShape = [n, h, w, cin];
  const layoutNote = layout === 'nchw' ? ', runs the NHWC layout of this conv' : '';

  return {
    label: `tfjs-backend-wasm ${backend.version} (XNNPACK${backend.simd ? ' SIMD' : ''}, ${backend.threads} thread${backend.threads === 1 ? '' : 's'}${layoutNote})`,
    version: backend.version,
    threads: backend.threads,
    ...layoutAdapter(shape, 'nhwc'),
    // Includes copying the input into the wasm heap and the output out of it: tfjs has no way around them.
    async run(input) {
      const y = tf.tidy(() => {
        const conv = tf.conv2d(tf.tensor4d(input, inputShape), filter, stride, 'valid');
        return biasTensor === null ? conv : tf.add(conv, biasTensor);
      });
      const data = y.dataSync();
      y.dispose();
      return data;
    },
    async close() {
      filter.dispose();
      biasTensor?.dispose();
    },
  };
}
