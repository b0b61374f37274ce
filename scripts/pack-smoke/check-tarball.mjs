// What the packed tarball must hold: this platform's prebuilt binary, the compiled facade and its
// model, and every native source a build from source needs; and what it must not: tests, fuzzers,
// benchmarks, examples, build output.
// Usage: node check-tarball.mjs <unpacked package dir> <platform-arch>
import fs from 'node:fs';
import path from 'node:path';

const [root, platform] = process.argv.slice(2);
if (!root || !platform) throw new Error('usage: node check-tarball.mjs <unpacked package dir> <platform-arch>');

function listFiles(dir, prefix = '') {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => (entry.isDirectory()
    ? listFiles(path.join(dir, entry.name), `${prefix}${entry.name}/`)
    : [`${prefix}${entry.name}`]));
}
const files = listFiles(root);
const present = new Set(files);
const read = (file) => fs.readFileSync(path.join(root, file), 'utf8');
const problems = [];
const need = (file, why) => {
  if (!present.has(file)) problems.push(`missing ${file}${why ? ` (${why})` : ''}`);
};

const binaries = files.filter((file) => file.startsWith(`prebuilds/${platform}/`) && file.endsWith('.node'));
if (binaries.length === 0) problems.push(`missing prebuilds/${platform}/*.node`);
for (const file of ['package.json', 'README.md', 'binding.gyp', 'dist/models/default-head.json', 'dist/models/default-head.safetensors']) {
  need(file);
}

// Every file package.json points at.
const manifest = JSON.parse(read('package.json'));
const exportTargets = (value) => (typeof value === 'string' ? [value] : Object.values(value ?? {}).flatMap(exportTargets));
for (const target of [manifest.main, manifest.types, ...Object.values(manifest.bin ?? {}), ...exportTargets(manifest.exports)]) {
  need(path.posix.normalize(target), 'named by package.json');
}

// A build from source: the files binding.gyp compiles and every header they include, transitively.
const gypSources = [...read('binding.gyp').matchAll(/"(native\/[^"]+\.(?:cc|cpp|c))"/g)].map((match) => match[1]);
if (gypSources.length === 0) problems.push('binding.gyp names no native/ sources');
const pending = [...new Set(gypSources)];
const reached = new Set(pending);
while (pending.length > 0) {
  const file = pending.pop();
  if (!present.has(file)) {
    problems.push(`missing ${file} (compiled by binding.gyp or included)`);
    continue;
  }
  for (const [, include] of read(file).matchAll(/^\s*#\s*include\s+"([^"]+)"/gm)) {
    const target = path.posix.normalize(path.posix.join(path.posix.dirname(file), include));
    if (!reached.has(target)) {
      reached.add(target);
      pending.push(target);
    }
  }
}

const forbidden = /^(test|bench|build|build-[^/]*|examples|native\/test|native\/fuzz|dist\/examples|node_modules|scripts|\.ci)\//;
const unwanted = files.filter((file) => forbidden.test(file));
if (unwanted.length > 0) problems.push(`unwanted files: ${unwanted.slice(0, 10).join(', ')}${unwanted.length > 10 ? ', …' : ''}`);

const count = (prefix) => files.filter((file) => file.startsWith(prefix)).length;
console.log(`tarball: ${files.length} files: ${binaries.join(', ')}; dist/ ${count('dist/')}; native/ ${count('native/')} ` +
  `(${reached.size} needed by binding.gyp's ${gypSources.length} sources)`);
if (problems.length > 0) {
  for (const problem of problems) console.log(`FAIL  tarball: ${problem}`);
  process.exit(1);
}
console.log('ok    tarball: has the prebuild, dist/, binding.gyp, native sources, README.md; ' +
  'no test/, native/test/, native/fuzz/, bench/, build/, examples/');
