// The default model as shipped: its spec and safetensors weights are written next to the compiled
// code when the package is built (write-default-model), from the seeded definition in default-model.
import * as path from 'node:path';

// From the package root: this file runs as dist/model/embedded.js, and in tests from lib/model/.
export const EMBEDDED_MODEL_DIR = path.join(__dirname, '..', '..', 'dist', 'models');
export const EMBEDDED_SPEC = path.join(EMBEDDED_MODEL_DIR, 'default-head.json');
export const EMBEDDED_WEIGHTS = path.join(EMBEDDED_MODEL_DIR, 'default-head.safetensors');
