// The chaos run's traffic on one connection. A client mixes echoed messages (several in flight, 0 B to 2 MiB)
// with one-sided writes read back, into the region its server granted to that connection alone; the server
// echoes, checks what it receives, and swaps the connection's region for a new one when told to (the old
// one deregistered while the client may be using it). Every message carries the seed its bytes derive from.
import { type Connection, type Region, register } from '../../src/index.js';
import { pattern } from '../helpers.js';
import { type Counts, noteRejection, track } from './counts.js';

const DESCRIPTOR = 0x44;
const ECHO = 0x4d;
export const SERVER_REGION_BYTES = 1 << 20;

function randomInt(below: number): number {
  return Math.floor(Math.random() * below);
}

function messageSize(): number {
  const roll = Math.random();
  if (roll < 0.6) return randomInt(4096);
  if (roll < 0.95) return randomInt(256 << 10);
  return randomInt(2 << 20);
}

function echoMessage(seed: number, size: number): Uint8Array {
  const message = new Uint8Array(5 + size);
  message[0] = ECHO;
  new DataView(message.buffer).setUint32(1, seed, true);
  message.set(pattern(size, seed), 5);
  return message;
}

/** Whether `bytes` are what `pattern` derives from `seed`. */
function matches(bytes: Uint8Array, seed: number): boolean {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).equals(pattern(bytes.length, seed));
}

function seedOf(message: Uint8Array): number {
  return new DataView(message.buffer, message.byteOffset, message.byteLength).getUint32(1, true);
}

/** Checks an echoed or received message against its seed. */
function check(counts: Counts, message: Uint8Array): boolean {
  const intact = message.length >= 5 && matches(message.subarray(5), seedOf(message));
  if (intact) {
    counts.verified++;
    counts.verifiedBytes += message.length;
  } else {
    counts.corrupt++;
  }
  return intact;
}

/** The server's side of one connection: grants a region, echoes every message, until the connection ends. */
export class ServedConnection {
  private region: Region | undefined;

  constructor(
    readonly connection: Connection,
    private readonly counts: Counts,
  ) {}

  async serve(): Promise<void> {
    this.swapRegion();
    try {
      for await (const message of this.connection) {
        if (message[0] === ECHO && check(this.counts, message)) {
          await track(this.counts, this.connection.send(message)).catch(() => {});
        }
      }
    } catch (error) {
      noteRejection(this.counts, error);
    } finally {
      this.region?.deregister();
    }
  }

  /** Deregisters the connection's region (while the client may be using it) and grants a fresh one. */
  swapRegion(): void {
    if (this.connection.closed) return;
    this.region?.deregister();
    this.region = register(new Uint8Array(SERVER_REGION_BYTES), { peers: [this.connection] });
    const message = new Uint8Array(1 + this.region.descriptor.length);
    message[0] = DESCRIPTOR;
    message.set(this.region.descriptor, 1);
    track(this.counts, this.connection.send(message)).catch(() => {});
  }
}

/** The client's side of one connection: traffic until `running()` turns false or the connection ends. */
export class ClientTraffic {
  private descriptor: Uint8Array | undefined;
  private readonly echoes: { seed: number; settle: (arrived: boolean) => void }[] = [];
  private readonly source = register(new Uint8Array(SERVER_REGION_BYTES));
  private readonly target = register(new Uint8Array(SERVER_REGION_BYTES));

  constructor(
    readonly connection: Connection,
    private readonly counts: Counts,
  ) {}

  async run(running: () => boolean): Promise<void> {
    const pump = track(this.counts, this.pump()).catch(() => {});
    try {
      while (running() && !this.connection.closed) {
        await (Math.random() < 0.6 ? this.echoBurst() : this.oneSided());
      }
    } catch {
      // The connection broke or was closed: what was pending rejected (and was counted).
    } finally {
      await pump;
      this.source.deregister();
      this.target.deregister();
    }
  }

  private async pump(): Promise<void> {
    try {
      for await (const message of this.connection) {
        if (message[0] === DESCRIPTOR) {
          this.descriptor = new Uint8Array(message.subarray(1));
        } else {
          const echo = this.echoes.shift();
          const intact = check(this.counts, message) && echo?.seed === seedOf(message);
          if (!intact && echo !== undefined) this.counts.corrupt++;
          echo?.settle(true);
        }
      }
    } finally {
      for (const echo of this.echoes.splice(0)) echo.settle(false);
    }
  }

  /** Up to 8 messages in flight, each awaited until its echo is back. */
  private async echoBurst(): Promise<void> {
    const burst = Array.from({ length: 1 + randomInt(8) }, () => {
      const seed = 1 + randomInt(0x7fffffff);
      const echoed = new Promise<boolean>((settle) => this.echoes.push({ seed, settle }));
      const sent = track(this.counts, this.connection.send(echoMessage(seed, messageSize())));
      return Promise.all([sent, echoed]);
    });
    await Promise.all(burst);
  }

  /** Writes into disjoint ranges of the granted region, reads each back and checks it. */
  private async oneSided(): Promise<void> {
    const descriptor = this.descriptor;
    if (descriptor === undefined) return this.echoBurst();
    const count = 1 + randomInt(4);
    const span = Math.floor(SERVER_REGION_BYTES / count);
    await Promise.all(
      Array.from({ length: count }, async (_, i) => {
        const length = 1 + randomInt(span);
        const seed = 1 + randomInt(0x7fffffff);
        const source = this.source.slice(i * span, length);
        const target = this.target.slice(i * span, length);
        source.bytes.set(pattern(length, seed));
        await track(this.counts, this.connection.write(source, descriptor, i * span));
        await track(this.counts, this.connection.read(target, descriptor, i * span));
        if (matches(target.bytes, seed)) {
          this.counts.verified++;
          this.counts.verifiedBytes += length;
        } else {
          this.counts.corrupt++;
        }
      }),
    );
  }
}
