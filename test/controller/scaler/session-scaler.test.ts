import assert from 'node:assert/strict';
import { recommendedReplicas, SessionScaler } from '../../../controller/scaler/session-scaler.ts';

const scaling = { minReplicas: 0, maxReplicas: 3, idleTimeoutMs: 60_000, sessionsPerReplica: 2 };

describe('session scaler', () => {
  it('recommends ceil(sessions / sessionsPerReplica) within [max(1, min), max]', () => {
    assert.deepEqual(
      [0, 1, 2, 3, 4, 5, 6, 7, 100].map((n) => recommendedReplicas(n, scaling)),
      [1, 1, 1, 2, 2, 3, 3, 3, 3],
    );
    assert.equal(recommendedReplicas(0, { ...scaling, minReplicas: 2 }), 2);
    assert.equal(recommendedReplicas(50, { ...scaling, minReplicas: 2, maxReplicas: 1 }), 2);
  });

  it('scales up at once and down only after the stabilization window', () => {
    const scaler = new SessionScaler(scaling, 1_000);
    assert.equal(scaler.decide(5, 1, 0), 3); // up at once
    assert.equal(scaler.decide(1, 3, 100), 3); // held: 3 was recommended 100 ms ago
    assert.equal(scaler.decide(1, 3, 900), 3);
    assert.ok((scaler.nextReview(900) ?? 0) > 0);
    assert.equal(scaler.decide(1, 3, 1_050), 1); // the 3 left the window
  });

  it('goes down to the highest recommendation still inside the window', () => {
    const scaler = new SessionScaler(scaling, 1_000);
    scaler.decide(6, 1, 0); // 3
    scaler.decide(3, 3, 600); // 2
    assert.equal(scaler.decide(0, 3, 1_100), 2); // 3 expired, 2 (t=600) still inside
    assert.equal(scaler.decide(0, 2, 1_700), 1);
  });
});
