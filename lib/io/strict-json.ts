// A strict JSON parser for file headers. Unlike JSON.parse it rejects duplicate keys (JSON.parse keeps
// the last one silently), builds objects as Maps (so "__proto__" is just a key), keeps numbers as their
// text (so 2^64 offsets are compared exactly as BigInt), and caps nesting so no input can overflow the stack.

export class JsonNumber {
  constructor(readonly text: string) {}

  /** The value as a BigInt if the text is a plain non-negative integer ("0", "17"), else undefined. */
  toNonNegativeInteger(): bigint | undefined {
    return /^(?:0|[1-9][0-9]*)$/.test(this.text) ? BigInt(this.text) : undefined;
  }
}

export type JsonValue = string | boolean | null | JsonNumber | JsonValue[] | Map<string, JsonValue>;

export type JsonErrorReason = 'syntax' | 'duplicate' | 'depth';

export class JsonParseError extends Error {
  constructor(
    message: string,
    readonly reason: JsonErrorReason,
    readonly position: number,
    /** For duplicates: the key, and the nesting depth of its object (1 = top level). */
    readonly key?: string,
    readonly depth?: number,
  ) {
    super(message);
    this.name = 'JsonParseError';
  }
}

export const MAX_JSON_DEPTH = 64;

const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
const PLAIN_RUN = /[^"\\\u0000-\u001f]*/y;

export function parseStrictJson(text: string): JsonValue {
  let pos = 0;

  function fail(what: string, reason: JsonErrorReason = 'syntax'): never {
    throw new JsonParseError(`${what} at position ${pos}`, reason, pos);
  }

  const skipWhitespace = (): void => {
    while (pos < text.length) {
      const c = text.charCodeAt(pos);
      if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) break;
      pos++;
    }
  };

  const parseString = (): string => {
    pos++;  // opening quote
    let out = '';
    for (;;) {
      PLAIN_RUN.lastIndex = pos;
      PLAIN_RUN.exec(text);
      out += text.slice(pos, PLAIN_RUN.lastIndex);
      pos = PLAIN_RUN.lastIndex;
      if (pos >= text.length) fail('unterminated string');
      const c = text[pos];
      if (c === '"') {
        pos++;
        return out;
      }
      if (c !== '\\') fail('control character in string');
      const escape = text[pos + 1];
      pos += 2;
      switch (escape) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          const unit = readHex4();
          if (unit >= 0xd800 && unit <= 0xdbff) {
            if (text[pos] !== '\\' || text[pos + 1] !== 'u') fail('lone surrogate in \\u escape');
            pos += 2;
            const low = readHex4();
            if (low < 0xdc00 || low > 0xdfff) fail('lone surrogate in \\u escape');
            out += String.fromCharCode(unit, low);
          } else if (unit >= 0xdc00 && unit <= 0xdfff) {
            fail('lone surrogate in \\u escape');
          } else {
            out += String.fromCharCode(unit);
          }
          break;
        }
        default:
          pos -= 1;
          fail('invalid escape in string');
      }
    }
  };

  const readHex4 = (): number => {
    const hex = text.slice(pos, pos + 4);
    if (!/^[0-9a-fA-F]{4}$/.test(hex)) fail('invalid \\u escape');
    pos += 4;
    return parseInt(hex, 16);
  };

  const parseValue = (depth: number): JsonValue => {
    skipWhitespace();
    if (pos >= text.length) fail('unexpected end of input');
    const c = text[pos];
    if (c === '{' || c === '[') {
      if (depth >= MAX_JSON_DEPTH) fail(`nesting deeper than ${MAX_JSON_DEPTH}`, 'depth');
      return c === '{' ? parseObject(depth + 1) : parseArray(depth + 1);
    }
    if (c === '"') return parseString();
    if (text.startsWith('true', pos)) { pos += 4; return true; }
    if (text.startsWith('false', pos)) { pos += 5; return false; }
    if (text.startsWith('null', pos)) { pos += 4; return null; }
    NUMBER.lastIndex = pos;
    const match = NUMBER.exec(text);
    if (!match) fail(`unexpected character ${JSON.stringify(c)}`);
    pos = NUMBER.lastIndex;
    return new JsonNumber(match[0]);
  };

  const parseObject = (depth: number): Map<string, JsonValue> => {
    pos++;
    const object = new Map<string, JsonValue>();
    skipWhitespace();
    if (text[pos] === '}') {
      pos++;
      return object;
    }
    for (;;) {
      skipWhitespace();
      if (text[pos] !== '"') fail('expected a string key');
      const keyPosition = pos;
      const key = parseString();
      if (object.has(key)) {
        throw new JsonParseError(
          `duplicate key ${JSON.stringify(key)} at position ${keyPosition}`,
          'duplicate', keyPosition, key, depth,
        );
      }
      skipWhitespace();
      if (text[pos] !== ':') fail("expected ':'");
      pos++;
      object.set(key, parseValue(depth));
      skipWhitespace();
      if (text[pos] === ',') { pos++; continue; }
      if (text[pos] === '}') { pos++; return object; }
      fail("expected ',' or '}'");
    }
  };

  const parseArray = (depth: number): JsonValue[] => {
    pos++;
    const array: JsonValue[] = [];
    skipWhitespace();
    if (text[pos] === ']') {
      pos++;
      return array;
    }
    for (;;) {
      array.push(parseValue(depth));
      skipWhitespace();
      if (text[pos] === ',') { pos++; continue; }
      if (text[pos] === ']') { pos++; return array; }
      fail("expected ',' or ']'");
    }
  };

  const value = parseValue(0);
  skipWhitespace();
  if (pos !== text.length) fail('unexpected content after the JSON value');
  return value;
}
