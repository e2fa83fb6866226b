// The shared-memory ring on its own, over plain memory: what one end puts the other takes, in order and across
// the wrap; who sleeps is woken; and a peer that scribbles on the control words or the header is refused.
import * as assert from 'node:assert/strict';
import { FabricError } from '../../../src/api/errors.js';
import { RingConsumer, RingProducer } from '../../../src/transports/shm/ring.js';
import {
  controlWords,
  layoutBytes,
  MIN_CAPACITY,
  readLayout,
  writeLayout,
} from '../../../src/transports/shm/ring-layout.js';
import { pattern } from '../../helpers.js';

const CAPACITY = MIN_CAPACITY;

function shared(): { memory: ArrayBuffer; producer: RingProducer; consumer: RingConsumer } {
  const memory = new ArrayBuffer(layoutBytes(CAPACITY));
  writeLayout(memory, CAPACITY);
  return {
    memory,
    producer: new RingProducer(memory, CAPACITY, 1),
    consumer: new RingConsumer(memory, CAPACITY, 1),
  };
}

function refusedAsCorrupt(f: () => unknown): void {
  assert.throws(
    f,
    (error: unknown) =>
      error instanceof FabricError && error.code === 'EPROTO' && /corrupted/.test(error.message),
  );
}

describe('shm ring', () => {
  it('hands over bytes in order, across the end of the ring, many times over its capacity', () => {
    const { producer, consumer } = shared();
    const sent = pattern(CAPACITY * 5 + 123);
    const received = new Uint8Array(sent.length);
    let put = 0;
    let taken = 0;
    while (taken < sent.length) {
      const count = Math.min(producer.room(), sent.length - put, 7919);
      producer.put(sent.subarray(put, put + count), count);
      put += count;
      producer.publish();
      const available = consumer.available();
      consumer.take(received.subarray(taken, taken + available));
      taken += available;
      consumer.release();
    }
    assert.deepEqual(received, sent);
  });

  it('has room for exactly its capacity, and none beyond', () => {
    const { producer, consumer } = shared();
    assert.equal(producer.room(), CAPACITY);
    producer.put(new Uint8Array(CAPACITY), CAPACITY);
    producer.publish();
    assert.equal(producer.room(), 0);
    assert.equal(consumer.available(), CAPACITY);
  });

  it('wakes a consumer that said it sleeps, once, and a producer that waits for room', () => {
    const { producer, consumer } = shared();
    assert.equal(consumer.sleep(true), true);
    producer.put(new Uint8Array(8), 8);
    assert.equal(producer.publish(), true);
    producer.put(new Uint8Array(8), 8);
    assert.equal(producer.publish(), false, 'already woken: no second doorbell');
    assert.equal(consumer.sleep(true), false, 'bytes wait: it must not sleep');
    consumer.take(new Uint8Array(16));
    assert.equal(consumer.release(), false, 'nobody waited for room');
    producer.put(new Uint8Array(CAPACITY), CAPACITY);
    producer.publish();
    assert.equal(producer.awaitRoom(), true);
    consumer.take(new Uint8Array(1));
    assert.equal(consumer.release(), true);
  });

  it('refuses a tail or head the peer moved beyond the capacity with EPROTO', () => {
    const { memory, producer, consumer } = shared();
    const words = new Int32Array(memory);
    const control = controlWords(1);
    words[control.tail] = CAPACITY + 1;
    refusedAsCorrupt(() => consumer.available());
    words[control.tail] = -1;
    refusedAsCorrupt(() => consumer.available());
    words[control.head] = 5; // ahead of a tail that is still 0
    refusedAsCorrupt(() => producer.room());
  });

  it('reads its own index, not the one the peer rewrote', () => {
    const { memory, producer, consumer } = shared();
    producer.put(pattern(100), 100);
    producer.publish();
    const words = new Int32Array(memory);
    words[controlWords(1).head] = 50; // the peer claims to have taken half: it has not
    assert.equal(consumer.available(), 100);
  });

  it('checks the layout the peer wrote: magic, version, capacity, size', () => {
    const good = new ArrayBuffer(layoutBytes(CAPACITY));
    writeLayout(good, CAPACITY);
    assert.equal(readLayout(good), CAPACITY);
    const cases: [string, (view: DataView) => void, ArrayBuffer?][] = [
      ['magic', (view) => view.setUint32(0, 0x12345678, true)],
      ['version', (view) => view.setUint32(4, 2, true)],
      ['capacity not a power of two', (view) => view.setUint32(8, CAPACITY + 4096, true)],
      ['capacity too small', (view) => view.setUint32(8, 4096, true)],
      ['capacity against the size', (view) => view.setUint32(8, CAPACITY * 2, true)],
      ['reserved bytes', (view) => view.setUint8(100, 1)],
      ['a byte between control words', (view) => view.setUint8(256 + 8, 1)],
      ['a byte past the control blocks', (view) => view.setUint8(4000, 1)],
    ];
    for (const [what, spoil] of cases) {
      const memory = good.slice(0);
      spoil(new DataView(memory));
      assert.throws(
        () => readLayout(memory),
        (error: unknown) => error instanceof FabricError && error.code === 'EPROTO',
        what,
      );
    }
    assert.throws(() => readLayout(new ArrayBuffer(100)), /fewer than its header/);
  });
});
