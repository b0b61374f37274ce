// The CommonJS entry and its declarations, as `require('conv1x1')` sees them.
import conv = require('conv1x1');

const y: conv.Tensor = conv.conv1x1({ data: new Float32Array(4), shape: [1, 4, 1, 1] }, { data: new Float32Array(8), shape: [2, 4] });
export = y.shape;
