// Compiled by `npm test` (tsc --noEmit): the package's own name resolves through its exports map to
// the ES module entry and its declarations, as it does for a user's TypeScript project.
import { backend, conv1x1, conv1x1Async, Conv1x1, Conv1x1Error, ErrorCodes, Tensor, type BackendInfo } from 'conv1x1';

const x = new Tensor(new Float32Array(4), [1, 4, 1, 1]);
const y: Tensor = conv1x1(x, { data: new Float32Array(8), shape: [2, 4] }, { activation: 'gelu', layout: 'nchw' });
const pending: Promise<Tensor> = conv1x1Async(x, { data: new Float32Array(8), shape: [2, 4, 1, 1] });
const layer = new Conv1x1({ inChannels: 4, outChannels: 2, weight: { data: new Float32Array(8), shape: [2, 4] } });
const shape: number[] = layer.outputShape(y.shape);
const info: BackendInfo = backend();
const code: string = ErrorCodes.SHAPE_MISMATCH;
export { pending, shape, info, code, Conv1x1Error };
