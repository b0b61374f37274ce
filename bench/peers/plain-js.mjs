// Peer: the loops a user writes without a library, a fully connected layer per output pixel: for each
// image and output pixel, for each output channel, sum over that channel's group of input channels.
// Float32Array in and out, a JS number (float64) accumulator, one thread, both layouts natively.

import { checkConvShape, outputSize } from './conv-shape.mjs';

export async function available() {
  return { ok: true, version: process.versions.node };
}

export function supports(shape) {
  checkConvShape(shape);
  return { ok: true };
}

export function createPlainJsConv(shape) {
  checkConvShape(shape);
  const { n, cin, cout, h, w, stride = 1, groups = 1, layout = 'nchw', weight, bias = null } = shape;
  const [oh, ow] = [outputSize(h, stride), outputSize(w, stride)];
  const cinPerGroup = cin / groups;
  const coutPerGroup = cout / groups;
  const inputLength = n * cin * h * w;
  const outputLength = n * cout * oh * ow;

  // NCHW: channel c of pixel (y, x) sits one plane (h·w) after channel c - 1.
  function runNchw(input, output) {
    const inPlane = h * w;
    const outPlane = oh * ow;
    for (let b = 0; b < n; b++) {
      for (let oy = 0; oy < oh; oy++) {
        for (let ox = 0; ox < ow; ox++) {
          const pixel = b * cin * inPlane + oy * stride * w + ox * stride;
          const outPixel = b * cout * outPlane + oy * ow + ox;
          for (let oc = 0; oc < cout; oc++) {
            const firstIn = Math.floor(oc / coutPerGroup) * cinPerGroup;
            let sum = bias === null ? 0 : bias[oc];
            for (let k = 0; k < cinPerGroup; k++) {
              sum += weight[oc * cinPerGroup + k] * input[pixel + (firstIn + k) * inPlane];
            }
            output[outPixel + oc * outPlane] = sum;
          }
        }
      }
    }
  }

  // NHWC: the channels of one pixel are contiguous.
  function runNhwc(input, output) {
    for (let b = 0; b < n; b++) {
      for (let oy = 0; oy < oh; oy++) {
        for (let ox = 0; ox < ow; ox++) {
          const pixel = ((b * h + oy * stride) * w + ox * stride) * cin;
          const outPixel = ((b * oh + oy) * ow + ox) * cout;
          for (let oc = 0; oc < cout; oc++) {
            const firstIn = pixel + Math.floor(oc / coutPerGroup) * cinPerGroup;
            let sum = bias === null ? 0 : bias[oc];
            for (let k = 0; k < cinPerGroup; k++) {
              sum += weight[oc * cinPerGroup + k] * input[firstIn + k];
            }
            output[outPixel + oc] = sum;
          }
        }
      }
    }
  }

  const compute = layout === 'nhwc' ? runNhwc : runNchw;
  const same = (data) => data;
  return {
    label: `plain JS loops (Node ${process.versions.node}, 1 thread)`,
    version: process.versions.node,
    threads: 1,
    inputLayout: layout,
    outputLayout: layout,
    prepareInput: same,
    restoreOutput: same,
    // Synchronous work on the calling thread; async only to share the peers' interface.
    async run(input) {
      if (!(input instanceof Float32Array) || input.length !== inputLength) {
        throw new TypeError(`Expected Float32Array of length ${inputLength} for input but received length ${input?.length}`);
      }
      const output = new Float32Array(outputLength);
      compute(input, output);
      return output;
    },
    async close() {},
  };
}
