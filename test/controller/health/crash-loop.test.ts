import assert from 'node:assert/strict';
import { CrashLoop } from '../../../controller/health/crash-loop.ts';

describe('crash loop', () => {
  it('trips at the threshold inside the window only', () => {
    const loop = new CrashLoop({ threshold: 3, windowMs: 1000 });
    assert.equal(loop.record(0), false);
    assert.equal(loop.record(500), false);
    assert.equal(loop.record(1200), false, 'the first crash left the window');
    assert.equal(loop.record(1300), true);
  });

  it('backs off exponentially and caps', () => {
    const loop = new CrashLoop({ threshold: 10, baseBackoffMs: 100, maxBackoffMs: 350 });
    assert.equal(loop.backoffMs(0), 100);
    loop.record(0);
    assert.equal(loop.backoffMs(0), 100);
    loop.record(0);
    assert.equal(loop.backoffMs(0), 200);
    loop.record(0);
    assert.equal(loop.backoffMs(0), 350);
    loop.reset();
    assert.equal(loop.recent(0), 0);
  });
});
