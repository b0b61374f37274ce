// Response encoding: the Accept header picks .npy (the default) or JSON; anything else is a 406.
import { encodeNpy, type Tensor } from 'conv1x1';

import { ErrorCodes, HttpError, quote } from './http-error';
import { NPY_TYPE } from './decode';

export type AnswerFormat = 'npy' | 'json';

const JSON_TYPE = 'application/json';

/** The best acceptable format by q-value; ties go to the order of the header. */
export function answerFormat(accept: string | undefined): AnswerFormat {
  if (accept === undefined || accept.trim() === '') return 'npy';
  let best: { format: AnswerFormat; q: number } | null = null;
  for (const entry of accept.split(',')) {
    const [range, ...params] = entry.split(';').map((part) => part.trim().toLowerCase());
    const qParam = params.find((param) => param.startsWith('q='));
    const q = qParam === undefined ? 1 : Number(qParam.slice(2));
    if (!(q > 0)) continue;
    const format: AnswerFormat | null =
      range === NPY_TYPE || range === 'application/*' || range === '*/*' ? 'npy' : range === JSON_TYPE ? 'json' : null;
    if (format !== null && (best === null || q > best.q)) best = { format, q };
  }
  if (best === null) {
    throw new HttpError(406, ErrorCodes.NOT_ACCEPTABLE, `Accept is ${quote(accept)}; this route answers ${NPY_TYPE} or ${JSON_TYPE}`);
  }
  return best.format;
}

export interface Encoded {
  contentType: string;
  body: Uint8Array | string;
}

export function encodeFeatures(features: Tensor, format: AnswerFormat): Encoded {
  if (format === 'json') {
    // Each float32 prints as the shortest double that reads back to it: the JSON loses nothing.
    return { contentType: `${JSON_TYPE}; charset=utf-8`, body: JSON.stringify({ shape: features.shape, data: Array.from(features.data) }) };
  }
  return { contentType: NPY_TYPE, body: encodeNpy(features) };
}
