/**
 * What a training says while a short job shares the CPU with it: the note comes at once and on each
 * progress while both run, goes when the short job ends, and waits while the training is paused.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { JobType, RequestEvent } from '../../../main/engine/protocol.ts';
import { CpuSharing } from '../../../main/host/cpu-sharing.ts';

const TRAIN = 'train-job';
const UPSCALE = 'upscale-job';

function setUp() {
  const passed: RequestEvent[] = [];
  const runs: boolean[] = [];
  const sharing = new CpuSharing({ progress: (e) => passed.push(e), trainingRuns: (r) => runs.push(r) });
  const see = (type: JobType, e: RequestEvent) => sharing.see(type, e, (x) => passed.push(x));
  const messages = () =>
    passed
      .filter((e) => 'channel' in e && e.channel === 'job:progress' && e.payload.jobId === TRAIN)
      .map((e) => (e as { payload: { message: string } }).payload.message);
  return { sharing, see, messages, runs, passed };
}

const state = (jobId: string, s: 'queued' | 'running' | 'paused'): RequestEvent => ({
  channel: 'job:state',
  payload: { jobId, state: s, message: '' },
});
const progress = (jobId: string, message: string, fraction = 0.1): RequestEvent => ({
  channel: 'job:progress',
  payload: { jobId, fraction, message },
});

describe('a training sharing the CPU', () => {
  test('says so at once, on each progress while an upscale runs, and no more once it ends', () => {
    const { sharing, see, messages, runs, passed } = setUp();
    see('train', state(TRAIN, 'running'));
    see('train', progress(TRAIN, 'iteration 5 of 300, loss 0.0300', 0.02));
    assert.deepEqual(runs, [true]);
    see('upscale', state(UPSCALE, 'queued'));
    assert.deepEqual(messages(), ['iteration 5 of 300, loss 0.0300'], 'a queued upscale shares nothing');
    see('upscale', state(UPSCALE, 'running'));
    see('train', progress(TRAIN, 'iteration 6 of 300, loss 0.0290', 0.02));
    see('upscale', progress(UPSCALE, 'Upscaling coffee.png (1 of 1)'));
    sharing.ended(UPSCALE);
    assert.deepEqual(messages(), [
      'iteration 5 of 300, loss 0.0300',
      'iteration 5 of 300, loss 0.0300 (sharing the CPU with an upscale, so slower until it finishes)',
      'iteration 6 of 300, loss 0.0290 (sharing the CPU with an upscale, so slower until it finishes)',
      'iteration 6 of 300, loss 0.0290',
    ]);
    assert.equal(
      (
        passed.find((e) => 'channel' in e && e.channel === 'job:progress' && e.payload.jobId === UPSCALE) as {
          payload: { message: string };
        }
      ).payload.message,
      'Upscaling coffee.png (1 of 1)',
      'the upscale’s own progress is left alone',
    );
    sharing.ended(TRAIN);
    assert.deepEqual(runs, [true, false]);
  });

  test('a paused training hears of the sharing when it resumes; feature maps are named as such', () => {
    const { sharing, see, messages, runs } = setUp();
    see('compare', state(TRAIN, 'running'));
    see('compare', state(TRAIN, 'paused'));
    see('features', state(UPSCALE, 'running'));
    assert.deepEqual(messages(), [], 'nothing while paused');
    see('compare', state(TRAIN, 'running'));
    assert.deepEqual(messages(), ['Sharing the CPU with feature maps, so slower until it finishes']);
    sharing.ended(UPSCALE);
    assert.deepEqual(messages().at(-1), 'Training');
    assert.deepEqual(runs, [true, false, true]);
  });
});
