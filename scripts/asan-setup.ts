// vitest setup file for scripts/test-asan.sh: fails every test file that would not exercise the
// sanitized addon (wrong .node resolved, or the sanitizer runtimes not preloaded in this fork).
import * as path from 'node:path';

import nodeGypBuild from 'node-gyp-build';

const root = path.join(__dirname, '..');
const resolved = (nodeGypBuild as unknown as { resolve(dir: string): string }).resolve(root);
const expected = path.resolve(root, process.env.CONV1X1_PREBUILD ?? '<CONV1X1_PREBUILD unset>');
if (!resolved.startsWith(expected + path.sep)) {
  throw new Error(`test:asan: node-gyp-build resolves ${resolved}, not the sanitized build in ${expected}`);
}
if (!/libasan\.so/.test(process.env.LD_PRELOAD ?? '')) {
  throw new Error('test:asan: LD_PRELOAD does not name libasan.so in this vitest fork');
}
