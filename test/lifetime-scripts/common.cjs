// Shared by the lifetime scripts: each runs in its own process (see test/lifetime.test.ts), loads the
// built package from dist/, and ends by printing one JSON report line that the test parses.
'use strict';
const path = require('node:path');

const DIST = path.join(__dirname, '..', '..', 'dist');
const lib = require(path.join(DIST, 'index.js'));
const internal = require(path.join(DIST, 'internal.js'));

const REPORT_PREFIX = 'LIFETIME-REPORT ';

/** Prints the report line the test reads (exactly one per run). */
function report(value) {
  process.stdout.write(`${REPORT_PREFIX}${JSON.stringify(value)}\n`);
}

/** Deterministic data in [-1, 1): the same generator as test/reference.ts seededFloats. */
function seededFloats(count, seed) {
  let state = seed >>> 0;
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = ((t ^ (t >>> 14)) >>> 0) / 2 ** 31 - 1;
  }
  return out;
}

const tensor = (shape, seed) => ({ data: seededFloats(shape.reduce((a, b) => a * b, 1), seed), shape });

/** Bit-for-bit equality of two Float32Arrays (async results equal the sync ones exactly). */
function same(a, b) {
  if (!a || !b || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return false;
  return true;
}

/** What a thrown or rejected error looked like: class name, code, message. */
function describeError(error) {
  return { name: error?.name ?? typeof error, code: error?.code ?? null, message: String(error?.message ?? error) };
}

/** Runs f; returns 'no error' or the error it threw, described. */
function thrown(f) {
  try {
    f();
    return 'no error';
  } catch (error) {
    return describeError(error);
  }
}

/** Settles a promise into 'resolved' or the error it rejected with, described. */
function rejection(promise) {
  return promise.then(() => 'resolved', describeError);
}

/** Selects 'blas' or 'builtin' for the process; false when that engine is not available. */
function useEngine(engine) {
  if (!engine || engine === 'auto') return true;
  if (!internal.availableBackends().includes(engine)) return false;
  internal.selectBackend(engine);
  return true;
}

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

module.exports = { DIST, lib, internal, report, seededFloats, tensor, same, describeError, thrown, rejection, useEngine, nextTurn, sleep };
