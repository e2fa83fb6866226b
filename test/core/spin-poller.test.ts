// The 'spin' and 'hybrid' poll modes, with a fake poll and a fake notion of what the application awaits.
import * as assert from 'node:assert/strict';
import { SpinPoller } from '../../src/core/spin-poller.js';

/** Busy-waits `micros` µs: a poll that found nothing in its time. */
function burn(micros: number): void {
  const until = performance.now() + micros / 1000;
  while (performance.now() < until) {
    // polling
  }
}

/** Resolves after the loop ran `turns` more times through its check phase. */
async function turns(count: number): Promise<void> {
  for (let i = 0; i < count; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

interface Fake {
  /** The µs each poll was given. */
  polls: number[];
  /** What happened, in order: 'poll', and what the test records. */
  events: string[];
  awaited: boolean;
  /** Whether the next polls say that polling can go on. */
  open: boolean;
  /** Run inside each poll (after recording it), as handling what arrived would. */
  onPoll?: (count: number) => void;
}

function poller(
  mode: 'spin' | 'hybrid',
  micros: number,
  burnEachPoll: boolean,
): { fake: Fake; poller: SpinPoller } {
  const fake: Fake = { polls: [], events: [], awaited: true, open: true };
  const poll = new SpinPoller(
    mode,
    micros,
    (left) => {
      fake.polls.push(left);
      fake.events.push('poll');
      if (burnEachPoll) burn(left);
      fake.onPoll?.(fake.polls.length);
      return fake.open;
    },
    () => fake.awaited,
  );
  return { fake, poller: poll };
}

describe('SpinPoller', () => {
  for (const mode of ['spin', 'hybrid'] as const) {
    describe(`'${mode}'`, () => {
      it('polls on a kick only while something is awaited, and not at all with spinMicros 0', async () => {
        const idle = poller(mode, 50, false);
        idle.fake.awaited = false;
        idle.poller.kick();
        const off = poller(mode, 0, false);
        off.poller.kick();
        await turns(3);
        assert.deepEqual(idle.fake.polls, []);
        assert.deepEqual(off.fake.polls, []);
      });

      it('a kick polls until what was awaited arrived, the first poll with the whole budget', async () => {
        // A budget no run of three polls exhausts, however slow the machine.
        const { fake, poller: spin } = poller(mode, 10_000_000, false);
        fake.onPoll = (count) => {
          if (count === 3) fake.awaited = false;
        };
        spin.kick();
        assert.equal(fake.polls.length, 3, 'synchronously, within the kick');
        assert.equal(fake.polls[0], 10_000_000);
        for (const left of fake.polls) assert.ok(left > 0 && left <= 10_000_000, String(left));
        await turns(3);
        assert.equal(fake.polls.length, 3, 'nothing more once nothing is awaited');
      });

      it('stops when a poll says polling cannot go on, even while something is awaited', async () => {
        const { fake, poller: spin } = poller(mode, 10_000_000, false);
        fake.open = false;
        spin.kick();
        await turns(3);
        assert.equal(fake.polls.length, 1);
      });

      it('a kick from inside a poll (handling what arrived) does not poll within the poll', () => {
        const { fake, poller: spin } = poller(mode, 10_000_000, false);
        let depth = 0;
        let deepest = 0;
        fake.onPoll = (count) => {
          depth++;
          deepest = Math.max(deepest, depth);
          spin.kick();
          depth--;
          if (count === 2) fake.awaited = false;
        };
        spin.kick();
        assert.equal(deepest, 1);
        assert.equal(fake.polls.length, 2);
      });
    });
  }

  it("'hybrid' polls for up to spinMicros, then leaves the rest to the event loop until kicked again", async () => {
    const { fake, poller: hybrid } = poller('hybrid', 50, true);
    hybrid.kick();
    assert.equal(fake.polls.length, 1, 'the first poll used the whole budget');
    await turns(5);
    assert.equal(fake.polls.length, 1);
    hybrid.kick();
    assert.equal(fake.polls.length, 2);
  });

  it("'spin' polls in slices while something is awaited, letting the event loop run between them", async () => {
    const { fake, poller: spin } = poller('spin', 50, true);
    spin.kick();
    assert.equal(fake.polls.length, 1, 'one slice in the kick');
    setImmediate(() => fake.events.push('immediate'));
    const timer = new Promise<void>((resolve) =>
      setTimeout(() => {
        fake.events.push('timer');
        resolve();
      }, 5),
    );
    // Were the loop starved, neither callback would run and this would time out.
    await timer;
    await turns(2);
    const immediate = fake.events.indexOf('immediate');
    assert.ok(immediate > 0, fake.events.join(' '));
    assert.ok(fake.events.lastIndexOf('poll') > fake.events.indexOf('timer'), 'slicing goes on after both');
    fake.awaited = false;
    await turns(2);
    const polls = fake.polls.length;
    await turns(5);
    assert.equal(fake.polls.length, polls, 'no slice once nothing is awaited');
  });

  it("'spin' runs one slice per turn of the loop however often it is kicked, and resumes once kicked again", async () => {
    const { fake, poller: spin } = poller('spin', 50, true);
    spin.kick();
    spin.kick();
    spin.kick();
    assert.equal(fake.polls.length, 3, 'each kick polls for its slice');
    for (let turn = 1; turn <= 3; turn++) {
      await turns(1);
      assert.equal(fake.polls.length, 3 + turn, `turn ${turn}: ${fake.events.join(' ')}`);
    }
    fake.awaited = false;
    await turns(3);
    const polls = fake.polls.length;
    fake.awaited = true;
    await turns(2);
    assert.equal(fake.polls.length, polls, 'it stopped: only a kick starts it again');
    spin.kick();
    await turns(2);
    assert.ok(fake.polls.length >= polls + 2);
    fake.awaited = false;
  });
});
