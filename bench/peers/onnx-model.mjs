// The bytes of an ONNX ModelProto holding one 1×1 Conv (x → y, initializers w and b), written by a
// hand-rolled protobuf encoder so the benchmark needs no onnx/protobuf package. Field numbers follow
// onnx.proto (proto2): repeated int64 fields are written unpacked, which every ONNX reader accepts.

import { checkConvShape, outputSize } from './conv-shape.mjs';

const IR_VERSION = 8;
const OPSET = 13;
const PRODUCER = 'conv1x1-bench';
const ELEM_FLOAT = 1;
const ATTR_INT = 2;
const ATTR_INTS = 7;

const WIRE_VARINT = 0;
const WIRE_LEN = 2;

const utf8 = new TextEncoder();

// Non-negative integers only, up to 2^53: every value here is a size, a count or an enum.
function varint(value) {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`Expected non-negative safe integer for varint but received ${value}`);
  }
  const out = [];
  while (value >= 0x80) {
    out.push((value % 0x80) | 0x80);
    value = Math.floor(value / 0x80);
  }
  out.push(value);
  return Uint8Array.from(out);
}

function concat(parts) {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

const tag = (field, wire) => varint(field * 8 + wire);
const intField = (field, value) => concat([tag(field, WIRE_VARINT), varint(value)]);
const bytesField = (field, payload) => concat([tag(field, WIRE_LEN), varint(payload.length), payload]);
const stringField = (field, text) => bytesField(field, utf8.encode(text));
const message = (...fields) => concat(fields.flat());

const intsAttribute = (name, values) =>
  message(stringField(1, name), values.map((v) => intField(8, v)), intField(20, ATTR_INTS));
const intAttribute = (name, value) => message(stringField(1, name), intField(3, value), intField(20, ATTR_INT));

function floatTensor(name, dims, values) {
  const raw = new Uint8Array(values.length * 4);
  const view = new DataView(raw.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i], true);
  return message(dims.map((d) => intField(1, d)), intField(2, ELEM_FLOAT), stringField(8, name), bytesField(9, raw));
}

function floatValueInfo(name, dims) {
  const shape = message(dims.map((d) => bytesField(1, message(intField(1, d)))));
  const tensorType = message(intField(1, ELEM_FLOAT), bytesField(2, shape));
  return message(stringField(1, name), bytesField(2, message(bytesField(1, tensorType))));
}

/**
 * ONNX model bytes for y = Conv(x, w, b) with a 1×1 kernel, no padding, the given stride and groups.
 * x is float [n, cin, h, w]; weight is [cout, cin/groups] (the [cout, cin/groups, 1, 1] tensor); bias
 * is [cout] or null for none.
 */
export function conv1x1OnnxModel({ n, cin, cout, h, w, stride = 1, groups = 1, weight, bias = null }) {
  checkConvShape({ n, cin, cout, h, w, stride, groups, weight, bias });
  const cinPerGroup = cin / groups;
  const [oh, ow] = [outputSize(h, stride), outputSize(w, stride)];

  const inputs = bias === null ? ['x', 'w'] : ['x', 'w', 'b'];
  const node = message(
    inputs.map((name) => stringField(1, name)),
    stringField(2, 'y'),
    stringField(3, 'conv1x1'),
    stringField(4, 'Conv'),
    bytesField(5, intsAttribute('kernel_shape', [1, 1])),
    bytesField(5, intsAttribute('strides', [stride, stride])),
    bytesField(5, intsAttribute('pads', [0, 0, 0, 0])),
    bytesField(5, intAttribute('group', groups)),
  );
  const initializers = [floatTensor('w', [cout, cinPerGroup, 1, 1], weight)];
  if (bias !== null) initializers.push(floatTensor('b', [cout], bias));

  const graph = message(
    bytesField(1, node),
    stringField(2, 'conv1x1'),
    initializers.map((tensor) => bytesField(5, tensor)),
    bytesField(11, floatValueInfo('x', [n, cin, h, w])),
    bytesField(12, floatValueInfo('y', [n, cout, oh, ow])),
  );
  const opset = message(stringField(1, ''), intField(2, OPSET));
  return message(intField(1, IR_VERSION), bytesField(8, opset), stringField(2, PRODUCER), bytesField(7, graph));
}
