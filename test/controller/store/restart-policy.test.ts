// When the embedded database is restarted after a crash, and when a crash loop gives up.
import assert from 'node:assert/strict';
import {
  CRASH_LOOP_EXITS,
  CRASH_LOOP_WINDOW_MS,
  RestartPolicy,
} from '../../../controller/store/restart-policy.ts';

/** A policy on a clock the test moves. */
function onClock(options: ConstructorParameters<typeof RestartPolicy>[0] = {}) {
  const clock = { now: 1_000_000 };
  return { policy: new RestartPolicy({ ...options, now: () => clock.now }), clock };
}

describe('restart policy', () => {
  it('restarts at once, then backs off 1 s, 2 s, 4 s, and gives up on the fifth exit in a minute', () => {
    const { policy, clock } = onClock();
    const restarts = [];
    for (let i = 0; i < CRASH_LOOP_EXITS; i++) {
      restarts.push(policy.afterExit());
      clock.now += 5_000;
    }
    assert.deepEqual(restarts, [
      { attempt: 1, delayMs: 0 },
      { attempt: 2, delayMs: 1_000 },
      { attempt: 3, delayMs: 2_000 },
      { attempt: 4, delayMs: 4_000 },
      undefined,
    ]);
  });

  it('caps the backoff', () => {
    const { policy } = onClock({ crashLoopExits: 10, firstBackoffMs: 1_000, maxBackoffMs: 30_000 });
    const delays = Array.from({ length: 9 }, () => policy.afterExit()?.delayMs);
    assert.deepEqual(delays, [0, 1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000]);
  });

  it('forgets exits older than the window: a process that stayed up starts over', () => {
    const { policy, clock } = onClock();
    for (let i = 0; i < CRASH_LOOP_EXITS - 1; i++) assert.ok(policy.afterExit());
    clock.now += CRASH_LOOP_WINDOW_MS;
    assert.deepEqual(policy.afterExit(), { attempt: 1, delayMs: 0 });
  });

  it('counts exits within a sliding window, not since the first', () => {
    const { policy, clock } = onClock({ crashLoopExits: 3, crashLoopWindowMs: 10_000 });
    policy.afterExit(); // t = 0
    clock.now += 6_000;
    policy.afterExit(); // t = 6 s
    clock.now += 6_000;
    // t = 12 s: the first has aged out, two within the window
    assert.deepEqual(policy.afterExit(), { attempt: 2, delayMs: 1_000 });
    clock.now += 1_000;
    assert.equal(policy.afterExit(), undefined); // t = 13 s: three within 10 s
  });

  it('rejects nonsense limits with the option named', () => {
    assert.throws(() => new RestartPolicy({ crashLoopExits: 0 }), /crashLoopExits must be/);
    assert.throws(() => new RestartPolicy({ crashLoopExits: 2.5 }), /crashLoopExits must be/);
    assert.throws(() => new RestartPolicy({ firstBackoffMs: -1 }), /firstBackoffMs must be/);
    assert.throws(() => new RestartPolicy({ crashLoopWindowMs: NaN }), /crashLoopWindowMs must/);
  });
});
