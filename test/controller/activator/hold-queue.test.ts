import assert from 'node:assert/strict';
import { HoldQueue, HoldQueueFullError } from '../../../controller/activator/hold-queue.ts';

describe('hold queue', () => {
  it('holds up to its capacity and releases everyone together', async () => {
    const queue = new HoldQueue(3);
    const sizes: number[] = [];
    queue.onSizeChange = (n) => sizes.push(n);
    const held = [queue.hold(), queue.hold(), queue.hold()];
    await assert.rejects(queue.hold(), HoldQueueFullError);
    queue.releaseAll();
    await Promise.all(held);
    assert.equal(queue.size, 0);
    assert.deepEqual(sizes, [1, 2, 3, 0]);
  });

  it('fails everyone with the same error', async () => {
    const queue = new HoldQueue(10);
    const held = [queue.hold(), queue.hold()];
    queue.failAll(new Error('wake failed'));
    for (const p of held) await assert.rejects(p, /wake failed/);
  });

  it('removes an aborted request at once and frees its slot', async () => {
    const queue = new HoldQueue(1);
    const controller = new AbortController();
    const held = queue.hold(controller.signal);
    controller.abort();
    await assert.rejects(held, { name: 'AbortError' });
    assert.equal(queue.size, 0);
    const next = queue.hold();
    queue.releaseAll();
    await next;
    await assert.rejects(queue.hold(AbortSignal.abort()), { name: 'AbortError' });
  });
});
