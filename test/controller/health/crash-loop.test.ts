import assert from 'node:assert/strict';
import { CrashLoop } from '../../../controller/health/crash-loop.ts';

describe('crash loop', () => {
  it('gives up at the threshold of failed starts in a row inside the window only', () => {
    const loop = new CrashLoop({ threshold: 3, windowMs: 1000 });
    assert.equal(loop.startFailed(0), false);
    assert.equal(loop.startFailed(500), false);
    assert.equal(loop.startFailed(1200), false, 'the first failed start left the window');
    assert.equal(loop.startFailed(1300), true);
  });

  it('counts failed starts in a row: a start that succeeds ends the run', () => {
    const loop = new CrashLoop({ threshold: 3, windowMs: 60_000 });
    loop.startFailed(0);
    loop.startFailed(1);
    loop.started();
    assert.equal(loop.failedStartsInARow(2), 0);
    assert.equal(loop.startFailed(2), false);
    assert.equal(loop.startFailed(3), false);
    assert.equal(loop.startFailed(4), true);
  });

  it('never gives up on crashes of a server that started, however many', () => {
    const loop = new CrashLoop({ threshold: 3 });
    for (let i = 0; i < 10; i++) loop.record(i);
    assert.equal(loop.failedStartsInARow(10), 0);
    assert.equal(loop.recent(10), 10);
  });

  it('backs off exponentially on every kind of trouble, and caps', () => {
    const loop = new CrashLoop({ threshold: 10, baseBackoffMs: 100, maxBackoffMs: 350 });
    assert.equal(loop.backoffMs(0), 100);
    loop.record(0);
    assert.equal(loop.backoffMs(0), 100);
    loop.startFailed(0);
    assert.equal(loop.backoffMs(0), 200);
    loop.record(0);
    assert.equal(loop.backoffMs(0), 350);
    loop.reset();
    assert.equal(loop.recent(0), 0);
  });
});
