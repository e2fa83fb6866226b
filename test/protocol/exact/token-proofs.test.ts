// docs/PROTOCOL.md, exactly: the token proofs (an HMAC computed independently with node:crypto) and the token
// flag, checked against a real TCP listener by raw peers that compute their bytes from the document alone.
import * as assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { connect } from '../../../src/index.js';
import { FrameType, HEADER_SIZE, HELLO_SIZE } from '../../../src/protocol/frame.js';
import { decodeHello, encodeHello } from '../../../src/protocol/handshake.js';
import { clientHello, rejectsWith, within } from '../../helpers.js';
import {
  parseFrames,
  type RawFrame,
  rawClient,
  rawServer,
  receiveFrames,
  refusedWith,
} from '../../raw-tcp-peer.js';

import { frame, helloFrame, type RawPeer, sendHello, served } from './peers.js';

describe('protocol: docs/PROTOCOL.md, exactly', () => {
  describe('1. token proofs: HMAC-SHA256 keyed with the UTF-8 token over label ‖ client nonce ‖ server nonce', () => {
    // Not ASCII, so that an encoding other than UTF-8 gives other key bytes.
    const TOKEN = 'tökén ✓ 🔑';
    const s = served({ token: TOKEN });

    /** The proof as the document defines it, computed here without the library. */
    function proof(
      key: Buffer,
      role: string,
      clientNonce: Buffer,
      serverNonce: Buffer,
      separator = '',
    ): Buffer {
      const label = Buffer.from(`fabric-transport v1 ${role}${separator}`, 'ascii');
      const message = Buffer.concat([label, clientNonce, serverNonce]);
      if (separator === '') assert.equal(message.length, 90, 'a 26-byte label and two 32-byte nonces');
      return createHmac('sha256', key).update(message).digest();
    }
    const utf8 = Buffer.from(TOKEN, 'utf8');

    /** Hello with the token flag; the nonces of both sides. */
    async function hello(peer: RawPeer) {
      const mine = clientHello({ token: true });
      const answer = await sendHello(peer, frame({ type: FrameType.Hello }, encodeHello(mine)));
      assert.equal(answer.header.type, FrameType.Hello);
      const theirs = decodeHello(answer.payload);
      assert.equal(theirs.token, true);
      // the nonce is the Hello payload's last 32 bytes
      assert.deepEqual(theirs.nonce, answer.payload.subarray(20, 52));
      return { clientNonce: mine.nonce, serverNonce: theirs.nonce };
    }

    it('accepts a proof computed from the document, and answers with its own, computed the same way', async () => {
      const peer = await rawClient(s.listener.port);
      const { clientNonce, serverNonce } = await hello(peer);
      peer.socket.write(frame({ type: FrameType.Auth }, proof(utf8, 'client', clientNonce, serverNonce)));
      const ready = (await receiveFrames(peer, 2))[1] as RawFrame;
      assert.equal(ready.header.type, FrameType.Ready);
      assert.deepEqual(ready.payload, proof(utf8, 'server', clientNonce, serverNonce));
      const server = await s.accept();
      peer.socket.write(frame({ type: FrameType.Message }, Buffer.from('proved')));
      assert.equal(Buffer.from(await server.receive()).toString(), 'proved');
      peer.socket.destroy();
    });

    for (const [name, make] of [
      [
        'a space between the label and the nonces',
        (c: Buffer, v: Buffer) => proof(utf8, 'client', c, v, ' '),
      ],
      ['a NUL after the label', (c: Buffer, v: Buffer) => proof(utf8, 'client', c, v, '\0')],
      ['the token in Latin-1', (c: Buffer, v: Buffer) => proof(Buffer.from(TOKEN, 'latin1'), 'client', c, v)],
      ['the token in UTF-16', (c: Buffer, v: Buffer) => proof(Buffer.from(TOKEN, 'utf16le'), 'client', c, v)],
      ['the nonces swapped', (c: Buffer, v: Buffer) => proof(utf8, 'client', v, c)],
      ['the server label', (c: Buffer, v: Buffer) => proof(utf8, 'server', c, v)],
    ] as const) {
      it(`refuses a proof computed with ${name}: EACCES, and no Ready`, async () => {
        const peer = await rawClient(s.listener.port);
        const { clientNonce, serverNonce } = await hello(peer);
        const at = peer.received().length;
        peer.socket.write(frame({ type: FrameType.Auth }, make(clientNonce, serverNonce)));
        assert.match(await refusedWith(peer, 'EACCES', at), /did not prove/);
        assert.equal(parseFrames(peer.received(), at).length, 1, 'the Error frame alone');
      });
    }

    it('a client proves as documented to a server that checks by hand, and checks its proof the same way', async () => {
      for (const serverKey of [utf8, Buffer.from('another token', 'utf8')]) {
        let clientProofOk: boolean | undefined;
        const server = await rawServer(async (socket, peer) => {
          const [clientHelloFrame] = await receiveFrames(peer, 1);
          const theirs = decodeHello((clientHelloFrame as RawFrame).payload);
          const mine = clientHello({ token: true, maxMessageSize: 1 << 20, receiveWindow: 2 << 20 });
          socket.write(frame({ type: FrameType.Hello }, encodeHello(mine)));
          const auth = (await receiveFrames(peer, 2))[1] as RawFrame;
          clientProofOk = auth.payload.equals(proof(utf8, 'client', theirs.nonce, mine.nonce));
          socket.write(
            frame({ type: FrameType.Ready }, proof(serverKey, 'server', theirs.nonce, mine.nonce)),
          );
        });
        const port = server.port;
        const connecting = connect({ host: '127.0.0.1', port, transport: 'tcp', token: TOKEN });
        if (serverKey === utf8) {
          await within(2000, connecting, 'the handshake').then((c) => c.close());
        } else {
          const error = await rejectsWith(connecting, 'EACCES');
          assert.match(error.message, /did not prove/);
        }
        assert.equal(clientProofOk, true, "the client's proof is the documented HMAC");
        server.close();
      }
    });
  });

  describe("5. a token flag that differs from the server's: Error frame EACCES instead of its Hello", () => {
    describe('a server without a token', () => {
      const s = served();

      it('refuses a client that claims a token, before it answers with its Hello', async () => {
        const peer = await rawClient(s.listener.port);
        peer.socket.write(helloFrame({ token: true }));
        // even with the empty Auth that once got it Ready
        peer.socket.write(frame({ type: FrameType.Auth }));
        assert.match(await refusedWith(peer, 'EACCES'), /claims a token/);
        assert.equal(parseFrames(peer.received()).length, 1, 'no Hello, no Ready');
      });

      it('refuses a client that claims no token but sends a proof', async () => {
        const peer = await rawClient(s.listener.port);
        await sendHello(peer, helloFrame());
        peer.socket.write(frame({ type: FrameType.Auth }, Buffer.alloc(32, 1)));
        assert.match(await refusedWith(peer, 'EACCES', HEADER_SIZE + HELLO_SIZE), /sent a token proof/);
      });
    });

    describe('a server with a token', () => {
      const s = served({ token: 'secret' });

      it('refuses a client that claims none, before it answers with its Hello', async () => {
        const peer = await rawClient(s.listener.port);
        peer.socket.write(helloFrame({ token: false }));
        assert.match(await refusedWith(peer, 'EACCES'), /requires one/);
        assert.equal(parseFrames(peer.received()).length, 1);
      });

      it("a library client without the token gets the server's EACCES", async () => {
        const error = await rejectsWith(
          connect({ host: '127.0.0.1', port: s.listener.port, transport: 'tcp' }),
          'EACCES',
        );
        assert.match(error.message, /requires one/);
      });
    });
  });
});
