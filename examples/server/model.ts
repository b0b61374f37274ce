// The model the service runs: a spec and weights given on the command line, or the package's
// embedded default model (a MobileNetV2-style feature head taking 32-channel maps, 256 features out).
import { readFileSync } from 'node:fs';
import * as path from 'node:path';

import { loadModel, type ModelSpec, type Sequential } from 'conv1x1';

export interface ServiceModel {
  model: Sequential;
  name: string;
  /** From the spec; requests with another C are refused before their body is read. */
  inputChannels: number | undefined;
}

/** The embedded model as the package build writes it (dist/models/). */
export function embeddedModelFiles(): { spec: string; weights: string } {
  const root = path.dirname(require.resolve('conv1x1/package.json'));
  return {
    spec: path.join(root, 'dist', 'models', 'default-head.json'),
    weights: path.join(root, 'dist', 'models', 'default-head.safetensors'),
  };
}

export function loadServiceModel(specPath: string | undefined, weightsPath: string | undefined): ServiceModel {
  const files = specPath && weightsPath ? { spec: specPath, weights: weightsPath } : embeddedModelFiles();
  let spec: ModelSpec;
  try {
    spec = JSON.parse(readFileSync(files.spec, 'utf8')) as ModelSpec;
  } catch (error) {
    throw new Error(`model spec ${files.spec}: ${(error as Error).message}`);
  }
  const model = loadModel(spec, files.weights);
  return { model, name: spec.name ?? files.spec, inputChannels: spec.inputChannels };
}
