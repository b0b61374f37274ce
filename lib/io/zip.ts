// A strict, bounded zip reader for .npz: end-of-central-directory record, central directory, local
// headers; members stored or deflated. Every size is checked before memory is spent on it: the member
// count, the sum of declared sizes, and each inflation (bounded by its declared size) — so a zip bomb
// costs at most the caps. Zip64 archives and encryption are refused.
import * as zlib from 'node:zlib';

import { crc32 } from './crc32';
import { quoteName, type ReadContext, weightsError, WeightsErrorCodes } from './weights-error';

export const ZIP_MAX_MEMBERS = 4096;
export const ZIP_MAX_INFLATED_BYTES = 4 * 1024 ** 3;

export interface ZipMember {
  readonly name: string;
  /** Stored members are views over the archive's bytes; deflated ones are inflated copies. */
  readonly data: Uint8Array;
}

const EOCD_SIGNATURE = 0x06054b50;
const CENTRAL_SIGNATURE = 0x02014b50;
const LOCAL_SIGNATURE = 0x04034b50;
const EOCD_SIZE = 22;
const CENTRAL_SIZE = 46;
const LOCAL_SIZE = 30;
const MAX_COMMENT = 0xffff;
const FLAG_ENCRYPTED = 0x1;
const FLAG_UTF8 = 0x800;

interface CentralEntry {
  name: string;
  rawName: Uint8Array;
  method: number;
  crc: number;
  compressedSize: number;
  size: number;
  localOffset: number;
  dataStart: number;
}

/** True if `bytes` start like a zip: a local file header, or the end record of an empty archive. */
export function looksLikeZip(bytes: Uint8Array): boolean {
  if (bytes.length < 4) return false;
  const signature = new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0, true);
  return signature === LOCAL_SIGNATURE || signature === EOCD_SIGNATURE;
}

export function readZip(bytes: Uint8Array, context: ReadContext): ZipMember[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const u16 = (at: number) => view.getUint16(at, true);
  const u32 = (at: number) => view.getUint32(at, true);
  const fail = (code: (typeof WeightsErrorCodes)[keyof typeof WeightsErrorCodes], detail: string, member?: string) =>
    weightsError(code, member === undefined ? context : { ...context, tensor: member }, detail);

  const eocd = findEndRecord(bytes, view);
  if (eocd < 0) {
    const startsLikeZip = bytes.length >= 4 && u32(0) === LOCAL_SIGNATURE;
    throw startsLikeZip
      ? fail(WeightsErrorCodes.TRUNCATED, 'no end-of-central-directory record at the end: the zip archive is truncated (or has trailing bytes)')
      : fail(WeightsErrorCodes.FORMAT, 'not a zip archive (no end-of-central-directory record)');
  }
  const disk = u16(eocd + 4);
  const centralDisk = u16(eocd + 6);
  const entriesHere = u16(eocd + 8);
  const entries = u16(eocd + 10);
  const centralSize = u32(eocd + 12);
  const centralOffset = u32(eocd + 16);
  if (entries === 0xffff || centralSize === 0xffffffff || centralOffset === 0xffffffff) {
    throw fail(WeightsErrorCodes.FORMAT, 'zip64 archives are not supported');
  }
  if (disk !== 0 || centralDisk !== 0 || entriesHere !== entries) {
    throw fail(WeightsErrorCodes.FORMAT, 'multi-disk zip archives are not supported');
  }
  if (entries > ZIP_MAX_MEMBERS) {
    throw fail(WeightsErrorCodes.LIMIT, `the archive has ${entries} members; at most ${ZIP_MAX_MEMBERS} are accepted`);
  }
  const centralEnd = centralOffset + centralSize;
  if (centralEnd > eocd) {
    throw fail(
      WeightsErrorCodes.TRUNCATED,
      `the central directory [${centralOffset}, ${centralEnd}) runs past its end record at ${eocd}`,
    );
  }

  // Central directory: the authoritative names, methods, sizes and CRCs.
  const central: CentralEntry[] = [];
  let declaredTotal = 0;
  let at = centralOffset;
  for (let index = 0; index < entries; index++) {
    if (at + CENTRAL_SIZE > centralEnd) {
      throw fail(WeightsErrorCodes.TRUNCATED, `the central directory ends inside entry ${index} of ${entries}`);
    }
    if (u32(at) !== CENTRAL_SIGNATURE) {
      throw fail(WeightsErrorCodes.HEADER, `central directory entry ${index} has a bad signature`);
    }
    const flags = u16(at + 8);
    const method = u16(at + 10);
    const nameLength = u16(at + 28);
    const entryEnd = at + CENTRAL_SIZE + nameLength + u16(at + 30) + u16(at + 32);
    if (entryEnd > centralEnd) {
      throw fail(WeightsErrorCodes.TRUNCATED, `the central directory ends inside entry ${index} of ${entries}`);
    }
    const rawName = bytes.subarray(at + CENTRAL_SIZE, at + CENTRAL_SIZE + nameLength);
    const name = decodeName(rawName, (flags & FLAG_UTF8) !== 0, context);
    const entry: CentralEntry = {
      name,
      rawName,
      method,
      crc: u32(at + 16),
      compressedSize: u32(at + 20),
      size: u32(at + 24),
      localOffset: u32(at + 42),
      dataStart: 0,
    };
    if (entry.compressedSize === 0xffffffff || entry.size === 0xffffffff || entry.localOffset === 0xffffffff) {
      throw fail(WeightsErrorCodes.FORMAT, 'zip64 members are not supported', name);
    }
    if (flags & FLAG_ENCRYPTED) throw fail(WeightsErrorCodes.FORMAT, 'encrypted members are not supported', name);
    if (method !== 0 && method !== 8) {
      throw fail(WeightsErrorCodes.FORMAT, `compression method ${method} is not supported (stored and deflate are)`, name);
    }
    declaredTotal += entry.size;
    central.push(entry);
    at = entryEnd;
  }
  if (at !== centralEnd) {
    throw fail(WeightsErrorCodes.HEADER, `${centralEnd - at} unexpected bytes after the central directory entries`);
  }
  if (declaredTotal > ZIP_MAX_INFLATED_BYTES) {
    throw fail(
      WeightsErrorCodes.LIMIT,
      `the members declare ${declaredTotal} bytes in total; at most ${ZIP_MAX_INFLATED_BYTES} are accepted`,
    );
  }

  // Local headers: must be where the directory says, name the same member, and not overlap each other
  // (overlapping members are how the worst zip bombs multiply their output).
  for (const entry of central) {
    const local = entry.localOffset;
    if (local + LOCAL_SIZE > centralOffset) {
      throw fail(WeightsErrorCodes.OFFSETS, `the local header at ${local} is not before the central directory`, entry.name);
    }
    if (u32(local) !== LOCAL_SIGNATURE) {
      throw fail(WeightsErrorCodes.HEADER, `no local header at offset ${local}`, entry.name);
    }
    const nameLength = u16(local + 26);
    entry.dataStart = local + LOCAL_SIZE + nameLength + u16(local + 28);
    const localName = bytes.subarray(local + LOCAL_SIZE, local + LOCAL_SIZE + nameLength);
    if (entry.dataStart + entry.compressedSize > centralOffset) {
      throw fail(WeightsErrorCodes.OFFSETS, 'the member\'s data runs into the central directory', entry.name);
    }
    if (!sameBytes(localName, entry.rawName)) {
      throw fail(WeightsErrorCodes.HEADER, 'the local header names a different member', entry.name);
    }
  }
  const byOffset = [...central].sort((a, b) => a.localOffset - b.localOffset);
  for (let index = 1; index < byOffset.length; index++) {
    const previous = byOffset[index - 1];
    if (previous.dataStart + previous.compressedSize > byOffset[index].localOffset) {
      throw fail(WeightsErrorCodes.OFFSETS, `the member overlaps ${quoteName(previous.name)}`, byOffset[index].name);
    }
  }

  let budget = ZIP_MAX_INFLATED_BYTES;
  return central.map((entry) => {
    const compressed = bytes.subarray(entry.dataStart, entry.dataStart + entry.compressedSize);
    let data: Uint8Array;
    if (entry.method === 0) {
      if (entry.compressedSize !== entry.size) {
        throw fail(
          WeightsErrorCodes.SIZE,
          `a stored member's sizes differ (${entry.compressedSize} stored, ${entry.size} declared)`,
          entry.name,
        );
      }
      data = compressed;
    } else {
      data = inflate(compressed, entry, budget, context);
      budget -= data.length;
    }
    if (crc32(data) !== entry.crc) {
      throw fail(WeightsErrorCodes.CHECKSUM, 'CRC-32 mismatch: the member is corrupt', entry.name);
    }
    return { name: entry.name, data };
  });
}

function inflate(compressed: Uint8Array, entry: CentralEntry, budget: number, fileContext: ReadContext): Uint8Array {
  const context = { ...fileContext, tensor: entry.name };
  if (entry.size > budget) {
    throw weightsError(WeightsErrorCodes.LIMIT, context, `inflating ${entry.size} bytes would exceed the total cap`);
  }
  let data: Buffer;
  try {
    // At most the declared size is ever produced (zlib's minimum output bound is 1 byte).
    data = zlib.inflateRawSync(compressed, { maxOutputLength: Math.max(1, Math.min(entry.size, budget)) });
  } catch (cause) {
    const code = (cause as { code?: unknown }).code;
    if (code === 'ERR_BUFFER_TOO_LARGE') {
      throw weightsError(
        WeightsErrorCodes.LIMIT,
        context,
        `the member inflates to more than its declared ${entry.size} bytes (a zip bomb?)`,
        cause,
      );
    }
    if (code === 'Z_BUF_ERROR') {
      throw weightsError(WeightsErrorCodes.TRUNCATED, context, 'the deflate stream ends early', cause);
    }
    throw weightsError(WeightsErrorCodes.FORMAT, context, `corrupt deflate data: ${(cause as Error).message}`, cause);
  }
  if (data.length !== entry.size) {
    throw weightsError(
      WeightsErrorCodes.SIZE,
      context,
      `the member inflates to ${data.length} bytes but declares ${entry.size}`,
    );
  }
  return data;
}

/** The end record, searched backwards; its comment must end exactly at the end of the file. */
function findEndRecord(bytes: Uint8Array, view: DataView): number {
  const lowest = Math.max(0, bytes.length - EOCD_SIZE - MAX_COMMENT);
  for (let at = bytes.length - EOCD_SIZE; at >= lowest; at--) {
    if (view.getUint32(at, true) === EOCD_SIGNATURE && at + EOCD_SIZE + view.getUint16(at + 20, true) === bytes.length) {
      return at;
    }
  }
  return -1;
}

// Code page 437, bytes 0x80–0xFF: how zip names without the UTF-8 flag are encoded.
const CP437_HIGH =
  'ÇüéâäàåçêëèïîìÄÅÉæÆôöòûùÿÖÜ¢£¥₧ƒáíóúñÑªº¿⌐¬½¼¡«»░▒▓│┤╡╢╖╕╣║╗╝╜╛┐└┴┬├─┼╞╟╚╔╩╦╠═╬╧╨╤╥╙╘╒╓╫╪┘┌█▄▌▐▀' +
  'αßΓπΣσµτΦΘΩδ∞φε∩≡±≥≤⌠⌡÷≈°∙·√ⁿ²■\u00a0';

function decodeName(raw: Uint8Array, utf8: boolean, context: ReadContext): string {
  if (utf8) {
    try {
      return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(raw);
    } catch (cause) {
      throw weightsError(WeightsErrorCodes.HEADER, context, 'a member name flagged UTF-8 is not valid UTF-8', cause);
    }
  }
  let name = '';
  for (const byte of raw) name += byte < 0x80 ? String.fromCharCode(byte) : CP437_HIGH[byte - 0x80];
  return name;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, index) => byte === b[index]);
}
