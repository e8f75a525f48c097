import assert from 'node:assert/strict';
import { chooseBackend } from '../../../controller/fleet/backend-choice.ts';

const a = { id: 'a', url: 'http://10.0.0.1/mcp' };
const b = { id: 'b', url: 'http://10.0.0.2/mcp' };

describe('backend choice', () => {
  it('keeps a session on the backend it was opened on', () => {
    const sessions = new Map([['s1', 'b']]);
    assert.equal(chooseBackend([a, b], sessions, 's1'), b);
  });

  it('gives a new session the least-loaded backend', () => {
    const sessions = new Map([
      ['s1', 'a'],
      ['s2', 'a'],
      ['s3', 'b'],
    ]);
    assert.equal(chooseBackend([a, b], sessions, undefined), b);
  });

  it('returns nothing when the session backend is gone, so the client re-initializes', () => {
    assert.equal(chooseBackend([a], new Map([['s1', 'b']]), 's1'), undefined);
  });
});
