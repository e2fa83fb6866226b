import { errorCodeFromWire, errorCodeToWire, FabricError } from '../api/errors.js';
import { type FrameHeader, FrameType, type HeaderFields, MAX_ERROR_TEXT } from './frame.js';

/** An Error frame for operation `id` (0: the whole connection): its header's fields and UTF-8 text. */
export function errorFrame(id: number, error: FabricError): { header: HeaderFields; text: Buffer } {
  // At most 4 bytes per character, so the text always fits MAX_ERROR_TEXT.
  const text = Buffer.from(error.message.slice(0, MAX_ERROR_TEXT / 4), 'utf8');
  return {
    header: { type: FrameType.Error, id, aux: errorCodeToWire(error.code), length: text.length },
    text,
  };
}

/** The FabricError an Error frame reports, its message prefixed with `context`. */
export function decodeErrorFrame(header: FrameHeader, payload: Uint8Array, context: string): FabricError {
  const text = Buffer.from(payload.buffer, payload.byteOffset, payload.length).toString('utf8');
  return new FabricError(errorCodeFromWire(header.aux), `${context}: ${text}`);
}
