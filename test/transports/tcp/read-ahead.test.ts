// Read-ahead on the wire (docs/PROTOCOL.md): a peer that announces it gets Write and ReadResponse headers
// padded to 256 bytes and must pad its own; a peer that does not (an older one) gets the frames unpadded and
// is read exactly. Checked byte by byte with a hand-written client against a real listener.
import * as assert from 'node:assert/strict';
import { type Connection, type Listener, listen, register } from '../../../src/index.js';
import { decodeDescriptor } from '../../../src/protocol/descriptor.js';
import {
  carriesPlacedPayload,
  decodeHeader,
  encodeHeader,
  FrameType,
  HEADER_SIZE,
  READ_AHEAD_BYTES,
} from '../../../src/protocol/frame.js';
import { CAPABILITY_READ_AHEAD } from '../../../src/protocol/handshake.js';
import { pattern, sleep, within } from '../../helpers.js';
import { handshake } from '../../raw-tcp-peer.js';

const PADDING = READ_AHEAD_BYTES - HEADER_SIZE;

describe('tcp: read-ahead on the wire', () => {
  let listener: Listener;
  const accepted: Connection[] = [];

  beforeEach(async () => {
    listener = await listen({ port: 0, transport: 'tcp' });
  });

  afterEach(async () => {
    await Promise.all(accepted.splice(0).map((c) => c.close()));
    await listener.close();
  });

  for (const readAhead of [false, true]) {
    const padding = readAhead ? PADDING : 0;
    it(`${readAhead ? 'pads' : 'does not pad'} one-sided payloads for a peer that ${readAhead ? 'announces' : 'does not announce'} read-ahead, and reads its frames`, async () => {
      const raw = await handshake(listener.port, { capabilities: readAhead ? CAPABILITY_READ_AHEAD : 0 });
      const server = await listener.accept();
      accepted.push(server);
      const region = register(pattern(1000, 7));
      const { key } = decodeDescriptor(region.descriptor);
      let at = raw.consumed;
      /** The next frame the server sent: its header, and the bytes behind it up to its payload's end. */
      const nextFrame = async () => {
        const received = (bytes: number) =>
          within(
            2000,
            (async () => {
              while (raw.received().length < bytes) await sleep(2);
            })(),
            'a frame from the server',
          );
        await received(at + HEADER_SIZE);
        const header = decodeHeader(raw.received().subarray(at));
        const end = at + HEADER_SIZE + (carriesPlacedPayload(header.type) ? padding : 0) + header.length;
        await received(end);
        const bytes = raw.received().subarray(at + HEADER_SIZE, end);
        at = end;
        return { header, bytes };
      };

      // The peer reads a region of the server's: the answer comes padded or not.
      raw.socket.write(encodeHeader({ type: FrameType.ReadRequest, id: 1, key, offset: 100, aux: 300 }));
      const response = await nextFrame();
      assert.equal(response.header.type, FrameType.ReadResponse);
      assert.ok(response.bytes.subarray(0, padding).every((byte) => byte === 0));
      assert.deepEqual(response.bytes.subarray(padding), Buffer.from(region.bytes.subarray(100, 400)));

      // The peer writes into it, padding as it announced, then sends a message behind the write.
      const data = pattern(500, 9);
      raw.socket.write(
        Buffer.concat([
          encodeHeader({ type: FrameType.Write, id: 2, key, offset: 10, length: data.length }),
          Buffer.alloc(padding),
          data,
          encodeHeader({ type: FrameType.Message, length: 5 }),
          Buffer.from('hello'),
        ]),
      );
      const ack = await nextFrame();
      assert.equal(ack.header.type, FrameType.WriteAck);
      assert.equal(ack.header.id, 2);
      assert.deepEqual(region.bytes.subarray(10, 510), data);
      assert.equal(Buffer.from(await server.receive()).toString(), 'hello');
      region.deregister();
      raw.socket.destroy();
    });
  }
});
