// Build step (run by `npm run build:ts`, hence by `npm ci` and `npm test`): writes the embedded
// default model's spec and weights into dist/models/.
import { mkdirSync, writeFileSync } from 'node:fs';

import { saveSafetensors } from '../io';
import { defaultModel } from './default-model';
import { EMBEDDED_MODEL_DIR, EMBEDDED_SPEC, EMBEDDED_WEIGHTS } from './embedded';

const { spec, tensors } = defaultModel();
mkdirSync(EMBEDDED_MODEL_DIR, { recursive: true });
saveSafetensors(EMBEDDED_WEIGHTS, tensors, { format: 'pt', model: String(spec.name) });
writeFileSync(EMBEDDED_SPEC, `${JSON.stringify(spec, null, 2)}\n`);
