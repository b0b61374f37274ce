// The .npy header is a Python dict literal, e.g. "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }".
// This parses the small subset NumPy writes (strings without escapes, ints, True/False/None, tuples,
// lists) into plain values, strictly: never eval, no duplicate keys, bounded nesting.

export type PyValue =
  | { kind: 'str'; value: string }
  | { kind: 'int'; value: bigint }
  | { kind: 'bool'; value: boolean }
  | { kind: 'none' }
  | { kind: 'tuple'; items: PyValue[] }
  | { kind: 'list'; items: PyValue[] };

export class PyLiteralError extends Error {
  constructor(message: string, readonly position: number) {
    super(message);
    this.name = 'PyLiteralError';
  }
}

const MAX_DEPTH = 16;
const INTEGER = /-?(?:0|[1-9][0-9]*)(?![0-9A-Za-z_.])/y;
const KEYWORD = /(True|False|None)(?![0-9A-Za-z_])/y;

/** Parses `{ 'key': value, ... }` followed only by whitespace; keys must be distinct strings. */
export function parsePyDict(text: string): Map<string, PyValue> {
  let pos = 0;

  function fail(what: string): never {
    throw new PyLiteralError(`${what} at position ${pos}`, pos);
  }

  function skipWhitespace(): void {
    while (pos < text.length && ' \t\r\n'.includes(text[pos])) pos++;
  }

  function expect(char: string): void {
    skipWhitespace();
    if (text[pos] !== char) fail(`expected '${char}'`);
    pos++;
  }

  function parseString(): string {
    const quote = text[pos];
    const end = text.indexOf(quote, pos + 1);
    if (end < 0) fail('unterminated string');
    const value = text.slice(pos + 1, end);
    if (/[\\\n\r]/.test(value)) fail('escapes and line breaks in strings are not supported');
    pos = end + 1;
    return value;
  }

  /** Items up to `close`; a trailing comma is allowed. Returns the items and whether any comma was seen. */
  function parseItems(close: string, depth: number): { items: PyValue[]; comma: boolean } {
    const items: PyValue[] = [];
    let comma = false;
    for (;;) {
      skipWhitespace();
      if (text[pos] === close) {
        pos++;
        return { items, comma };
      }
      items.push(parseValue(depth));
      skipWhitespace();
      if (text[pos] === ',') {
        pos++;
        comma = true;
      } else if (text[pos] !== close) {
        fail(`expected ',' or '${close}'`);
      }
    }
  }

  function parseValue(depth: number): PyValue {
    skipWhitespace();
    const c = text[pos];
    if (c === undefined) fail('unexpected end of header');
    if (c === "'" || c === '"') return { kind: 'str', value: parseString() };
    if (c === '(' || c === '[') {
      if (depth >= MAX_DEPTH) fail(`nesting deeper than ${MAX_DEPTH}`);
      pos++;
      const { items, comma } = parseItems(c === '(' ? ')' : ']', depth + 1);
      if (c === '[') return { kind: 'list', items };
      // "(5)" is the int 5 in parentheses; "(5,)" and "()" are tuples.
      if (items.length === 1 && !comma) return items[0];
      return { kind: 'tuple', items };
    }
    KEYWORD.lastIndex = pos;
    const keyword = KEYWORD.exec(text);
    if (keyword) {
      pos = KEYWORD.lastIndex;
      if (keyword[1] === 'None') return { kind: 'none' };
      return { kind: 'bool', value: keyword[1] === 'True' };
    }
    INTEGER.lastIndex = pos;
    const integer = INTEGER.exec(text);
    if (integer) {
      pos = INTEGER.lastIndex;
      return { kind: 'int', value: BigInt(integer[0]) };
    }
    fail(`unsupported value starting with ${JSON.stringify(c)}`);
  }

  expect('{');
  const dict = new Map<string, PyValue>();
  for (;;) {
    skipWhitespace();
    if (text[pos] === '}') {
      pos++;
      break;
    }
    if (text[pos] !== "'" && text[pos] !== '"') fail('expected a string key');
    const key = parseString();
    if (dict.has(key)) fail(`duplicate key ${JSON.stringify(key)}`);
    expect(':');
    dict.set(key, parseValue(0));
    skipWhitespace();
    if (text[pos] === ',') pos++;
    else if (text[pos] !== '}') fail("expected ',' or '}'");
  }
  skipWhitespace();
  if (pos !== text.length) fail('unexpected content after the dict');
  return dict;
}
