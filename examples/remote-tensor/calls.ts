// The call messages between a RemoteDevice and the device server, little-endian. A call is one message:
//
//   u8 op, then by op:
//   Alloc          f64 bytes                                  -> reply: u32 pointer
//   Free           u32 pointer                                   (no reply: an error waits for the next call)
//   CopyIn         u32 pointer, f64 bytes, descriptor (24 B)  -> reply   (the server reads the client's buffer)
//   CopyOut        u32 pointer, f64 bytes, descriptor (24 B)  -> reply   (the server writes the client's buffer)
//   CopyInInline   u32 pointer, the bytes                     -> reply   (the naive way: data in the message)
//   CopyOutInline  u32 pointer, f64 bytes                     -> reply: the bytes
//   Launch         u8 kernel, u8 count, f64 args[count]          (no reply)
//   Synchronize                                               -> reply
//
// A reply is u8 status (0: ok, then its payload; else the index of the error code + 1, then UTF-8 text).
// Tensor data never travels in a call except in the *Inline calls, the baseline the benchmark compares with.
import { DeviceError } from './device.js';
import { KERNEL_NAMES, type KernelName } from './kernels.js';

export enum Op {
  Alloc = 1,
  Free = 2,
  CopyIn = 3,
  CopyOut = 4,
  CopyInInline = 5,
  CopyOutInline = 6,
  Launch = 7,
  Synchronize = 8,
}

const CODES = ['EINVAL', 'EACCES', 'ERANGE', 'ENOMEM'] as const;
const DESCRIPTOR_BYTES = 24;

/** A call, decoded; fields by op. */
export interface Call {
  op: Op;
  pointer: number;
  bytes: number;
  descriptor: Uint8Array;
  data: Uint8Array;
  kernel: KernelName;
  args: number[];
}

const withPointer = new Set([Op.Free, Op.CopyIn, Op.CopyOut, Op.CopyInInline, Op.CopyOutInline]);
const withBytes = new Set([Op.Alloc, Op.CopyIn, Op.CopyOut, Op.CopyOutInline]);

export function encodeCall(op: Op, fields: Partial<Call> = {}): Uint8Array {
  const {
    pointer = 0,
    bytes = 0,
    descriptor = new Uint8Array(0),
    data = new Uint8Array(0),
    args = [],
  } = fields;
  if (op === Op.Launch) {
    const call = Buffer.alloc(3 + 8 * args.length);
    call.writeUInt8(KERNEL_NAMES.indexOf(fields.kernel as KernelName), 1);
    call.writeUInt8(args.length, 2);
    call.writeUInt8(op, 0);
    for (const [i, arg] of args.entries()) call.writeDoubleLE(arg, 3 + 8 * i);
    return call;
  }
  const head = Buffer.alloc(13);
  let at = head.writeUInt8(op, 0);
  if (withPointer.has(op)) at = head.writeUInt32LE(pointer, at);
  if (withBytes.has(op)) at = head.writeDoubleLE(bytes, at);
  // The inline baseline serialises the tensor into the call, as a first attempt at forwarding would.
  return Buffer.concat([head.subarray(0, at), descriptor, data]);
}

/** Decodes a call; a malformed one is EINVAL. */
export function decodeCall(message: Uint8Array): Call {
  const buf = Buffer.from(message.buffer, message.byteOffset, message.length);
  const fail = () => new DeviceError('EINVAL', `malformed call (${buf.length} bytes, op ${buf[0]})`);
  const call: Call = {
    op: buf[0] as Op,
    pointer: 0,
    bytes: 0,
    descriptor: new Uint8Array(0),
    data: new Uint8Array(0),
    kernel: 'saxpy',
    args: [],
  };
  const need = (length: number) => {
    if (buf.length !== length) throw fail();
  };
  switch (call.op) {
    case Op.Alloc:
      need(9);
      call.bytes = buf.readDoubleLE(1);
      return call;
    case Op.Free:
      need(5);
      call.pointer = buf.readUInt32LE(1);
      return call;
    case Op.CopyIn:
    case Op.CopyOut:
      need(13 + DESCRIPTOR_BYTES);
      call.pointer = buf.readUInt32LE(1);
      call.bytes = buf.readDoubleLE(5);
      call.descriptor = buf.subarray(13);
      return call;
    case Op.CopyInInline:
      if (buf.length < 5) throw fail();
      call.pointer = buf.readUInt32LE(1);
      call.data = buf.subarray(5);
      return call;
    case Op.CopyOutInline:
      need(13);
      call.pointer = buf.readUInt32LE(1);
      call.bytes = buf.readDoubleLE(5);
      return call;
    case Op.Launch: {
      const kernel = KERNEL_NAMES[buf[1] ?? 255];
      if (buf.length < 3 || !kernel) throw fail();
      need(3 + 8 * (buf[2] as number));
      call.kernel = kernel;
      call.args = Array.from({ length: buf[2] as number }, (_, i) => buf.readDoubleLE(3 + 8 * i));
      return call;
    }
    case Op.Synchronize:
      need(1);
      return call;
    default:
      throw fail();
  }
}

export function encodeReply(payload: Uint8Array = new Uint8Array(0)): Uint8Array[] {
  return [new Uint8Array([0]), payload];
}

export function encodeErrorReply(error: DeviceError): Uint8Array {
  return Buffer.concat([Buffer.from([CODES.indexOf(error.code) + 1]), Buffer.from(error.message)]);
}

/** The payload of a reply, or the DeviceError it carries. */
export function decodeReply(reply: Uint8Array): Uint8Array {
  if (reply[0] === 0) return reply.subarray(1);
  const code = CODES[(reply[0] as number) - 1] ?? 'EINVAL';
  throw new DeviceError(code, Buffer.from(reply.subarray(1)).toString());
}
