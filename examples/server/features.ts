// POST /v1/features: every check that needs only headers runs before admission and before a byte of
// the body is read; the model runs with forwardAsync, so the event loop stays free while it computes.
import type { IncomingMessage } from 'node:http';

import type { Layer, Tensor } from 'conv1x1';

import { declaredLength, readBody, type BodyBuffers } from './body';
import { bodyFormat, checkRawLength, decodeBatch, rawShape } from './decode';
import { answerFormat, encodeFeatures, type Encoded } from './encode';
import { ErrorCodes, headerValue, HttpError } from './http-error';
import { queueFull, shuttingDown, type Admission } from './limits';
import type { Metrics } from './metrics';
import type { ModelRunner } from './runner';

export interface FeatureContext {
  model: Layer;
  runner: ModelRunner;
  inputChannels: number | undefined;
  maxBodyBytes: number;
  bodyBuffers: BodyBuffers;
  admission: Admission;
  metrics: Metrics;
}

/** Library errors that a request caused or that say the server is busy, as answers. */
function libraryError(error: unknown): unknown {
  const code = (error as { code?: unknown } | null)?.code;
  const message = (error as Error).message;
  switch (code) {
    case 'ERR_QUEUE_FULL':
      return queueFull(message);
    case 'ERR_CLOSED':
      return shuttingDown();
    case 'ERR_SHAPE_MISMATCH':
    case 'ERR_OUT_OF_RANGE':
    case 'ERR_TOO_LARGE':
      return new HttpError(400, ErrorCodes.BAD_SHAPE, `the model cannot run this input: ${message}`);
    default:
      return error;
  }
}

/** `writeContinue` answers Expect: 100-continue once the request is admitted. */
export async function features(req: IncomingMessage, context: FeatureContext, writeContinue: () => void): Promise<Encoded> {
  const { admission, model, inputChannels, maxBodyBytes } = context;
  if (admission.draining) throw shuttingDown();
  const answer = answerFormat(headerValue(req.headers.accept));
  const format = bodyFormat(headerValue(req.headers['content-type']));
  const shape = format === 'raw' ? rawShape(headerValue(req.headers['x-shape']), inputChannels) : null;
  const declared = declaredLength(headerValue(req.headers['content-length']), maxBodyBytes);
  if (shape && declared !== null) checkRawLength(shape, declared, 'Content-Length');

  admission.enter();
  try {
    if (headerValue(req.headers.expect)?.toLowerCase() === '100-continue') writeContinue();
    const body = await readBody(req, maxBodyBytes, declared, context.bodyBuffers);
    try {
      const input = decodeBatch(format, body, shape, inputChannels);
      // Shapes the model cannot take (too small for its strides, say) are the client's to fix.
      try {
        model.outputShape(input.shape);
      } catch (error) {
        throw libraryError(error);
      }
      let output: Tensor;
      try {
        output = await context.runner.run(input);
      } catch (error) {
        throw libraryError(error);
      }
      context.metrics.inputs(input.shape[0]);
      return encodeFeatures(output, answer);
    } finally {
      // The input may be a view of the body; neither is used past this point (the model copied it).
      if (declared !== null) context.bodyBuffers.giveBack(body.buffer as ArrayBuffer);
    }
  } finally {
    admission.leave();
  }
}
