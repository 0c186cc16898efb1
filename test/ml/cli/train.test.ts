/**
 * End-to-end tests of `sr-studio train`: the real CLI in a child process, on the tiny photos in
 * photos/tiny, on the wasm backend, a few iterations at a time. One run is trained, inspected,
 * used by `upscale --model`, resumed, interrupted, and every bad input gets one clear line.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  assertNoStack,
  assertOneError,
  errorLines,
  jsonLines,
  runCli,
  show,
  type CliOptions,
} from '../../helpers/cli.ts';
import sharp from 'sharp';
import { createHash } from 'node:crypto';
import { initialWeights, presetConfig } from '../../../ml/network.ts';
import { decodeCheckpoint } from '../../../ml/train/checkpoint.ts';
import { decodeModel } from '../../../ml/weights.ts';

const DATA = path.resolve(import.meta.dirname, '../../../photos');
const TINY = path.join(DATA, 'tiny');
const SMALL_COFFEE = path.join(TINY, 'coffee_64x64.png');
const VAL = path.join(DATA, 'val');
const BUNDLED = path.resolve(import.meta.dirname, '../../../assets/models');

let dir = '';
let modelsDir = '';
const tmp = (...p: string[]) => path.join(dir, ...p);
/** The run every test after the first builds on. */
const RUN = () => tmp('run');
const FAST = ['--batch', '4', '--patch', '12', '--backend', 'wasm'];

const cli = (args: string[], opts: { onStderr?: CliOptions['onStderr'] } = {}) =>
  runCli(args, { cwd: dir, modelsDir, onStderr: opts.onStderr });

async function readMetrics(runDir: string): Promise<Array<Record<string, unknown>>> {
  const text = await fs.readFile(path.join(runDir, 'metrics.jsonl'), 'utf8');
  assert.ok(text.endsWith('\n'));
  return text
    .trimEnd()
    .split('\n')
    .map((l, i) => {
      try {
        return JSON.parse(l) as Record<string, unknown>;
      } catch {
        return assert.fail(`metrics.jsonl line ${i + 1} is not JSON: ${JSON.stringify(l)}`);
      }
    });
}

async function listAll(root: string): Promise<string[]> {
  try {
    return ((await fs.readdir(root, { recursive: true })) as string[]).sort();
  } catch (e) {
    if ((e as { code?: string }).code === 'ENOENT') return [];
    throw e;
  }
}

/** Name → contents of every file under `root`, to show a refused command changed nothing. */
async function snapshot(root: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const p of await listAll(root)) {
    const f = path.join(root, p);
    if ((await fs.stat(f)).isFile()) out.set(p, (await fs.readFile(f)).toString('base64'));
  }
  return out;
}

before(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'sr-cli-train-'));
  modelsDir = tmp('user-models');
  await fs.mkdir(modelsDir);
  await fs.mkdir(tmp('bad/empty'), { recursive: true });
  await fs.mkdir(tmp('bad/not-images'), { recursive: true });
  await fs.writeFile(tmp('bad/not-images/notes.txt'), 'no pictures here\n');
  await fs.writeFile(tmp('bad/not-images/letter.png'), 'Dear reader, this is not a PNG.\n');
  await fs.writeFile(tmp('bad/blocker'), 'a regular file where a folder is expected\n');
  await fs.mkdir(tmp('bad/not-a-run'), { recursive: true });
  await fs.writeFile(tmp('bad/not-a-run/readme.txt'), 'just a folder\n');
});

after(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe('sr-studio train', () => {
  describe('trains a run folder: config.json, metrics.jsonl, checkpoints, preview.png and a model that upscale accepts', () => {
    let r: Awaited<ReturnType<typeof cli>>;
    before(async () => {
      r = await cli(['train', '--data', TINY, '--iters', '6', '--val-every', '3', '--out', RUN(), ...FAST]);
    });
    const readConfig = async () => JSON.parse(await fs.readFile(tmp('run/config.json'), 'utf8'));

    test('exits 0 and tells how it went on stderr: finished, with the held-out image; no error or stack', () => {
      assert.equal(r.code, 0, show(r));
      assert.deepEqual(errorLines(r), []);
      assertNoStack(r);
      assert.equal(r.stdout, '', 'human output goes to stderr');
      assert.match(r.stderr, /Finished 6 iterations/);
      assert.match(r.stderr, /holding out 1 of 4 training images/);
    });

    test('the run folder holds the config, metrics, checkpoints, previews and best model, and no temp file', async () => {
      const files = await listAll(RUN());
      for (const f of [
        'config.json',
        'metrics.jsonl',
        'model_best.safetensors',
        'preview.png',
        'checkpoints/ckpt_0000006.safetensors',
        'checkpoints/best.safetensors',
        'previews/0000006.png',
      ]) {
        assert.ok(files.includes(f), `${f} is in the run folder: ${files.join(', ')}`);
      }
      assert.deepEqual(
        files.filter((f) => f.endsWith('.tmp')),
        [],
      );
    });

    test('config.json records the network, preset, iterations, batch, patch and validation interval', async () => {
      const config = await readConfig();
      assert.deepEqual(config.network, { scale: 2, features: 16, groups: 1, blocks: 3, activation: 'tanhexp' });
      assert.equal(config.preset, 'tiny');
      assert.equal(config.iterations, 6);
      assert.equal(config.batch, 4);
      assert.equal(config.patch, 12);
      assert.equal(config.valEvery, 3);
    });

    test('metrics.jsonl: a progress record at the end and validations at 3 and 6, each with exactly its fields', async () => {
      const metrics = await readMetrics(RUN());
      const progress = metrics.filter((m) => 'loss' in m);
      const vals = metrics.filter((m) => 'val' in m);
      assert.equal(progress.length + vals.length, metrics.length, 'every record is a progress or a validation record');
      assert.deepEqual(
        progress.map((m) => m.iteration),
        [6],
      );
      for (const m of progress) {
        assert.deepEqual(Object.keys(m).sort(), ['elapsedMs', 'itPerSec', 'iteration', 'loss', 'lr']);
        assert.ok(typeof m.loss === 'number' && m.loss > 0 && m.loss < 1);
        assert.ok(typeof m.lr === 'number' && m.lr > 0);
        assert.ok(typeof m.itPerSec === 'number' && m.itPerSec > 0);
        assert.ok(Number.isInteger(m.elapsedMs));
      }
      assert.deepEqual(
        vals.map((m) => m.iteration),
        [3, 6],
      );
      for (const m of vals) {
        const v = m.val as Record<string, number>;
        assert.deepEqual(Object.keys(v).sort(), [
          'bicubicDetail',
          'bicubicPsnrY',
          'bicubicSsimY',
          'detail',
          'psnrY',
          'ssimY',
        ]);
        assert.ok(
          v.detail! > 0.2 && v.detail! < 2 && v.bicubicDetail! > 0.2 && v.bicubicDetail! < 2,
          JSON.stringify(v),
        );
        assert.ok(v.psnrY! > 15 && v.psnrY! < 60 && v.ssimY! > 0 && v.ssimY! <= 1, JSON.stringify(v));
        assert.ok(v.bicubicPsnrY! > 15 && v.bicubicSsimY! > 0 && v.bicubicSsimY! <= 1);
        assert.ok(Number.isInteger(m.elapsedMs));
      }
    });

    test("the last checkpoint is at iteration 6, with Adam's step and the run's config", async () => {
      const config = await readConfig();
      const ckpt = decodeCheckpoint(await fs.readFile(tmp('run/checkpoints/ckpt_0000006.safetensors')), 'ckpt');
      assert.equal(ckpt.state.iteration, 6);
      assert.equal(ckpt.state.adamStep, 6);
      assert.deepEqual(JSON.parse(JSON.stringify(ckpt.state.config)), config);
    });

    test('preview.png is a real PNG: bicubic | network | ground truth of a 48-pixel LR crop at x2', async () => {
      const png = await fs.readFile(tmp('run/preview.png'));
      assert.deepEqual([...png.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
      const meta = await sharp(png).metadata();
      assert.deepEqual([meta.format, meta.width, meta.height], ['png', 3 * 96 + 8, 96]);
    });

    test('the best model records its training, and upscale accepts it', async () => {
      const model = decodeModel(await fs.readFile(tmp('run/model_best.safetensors')), 'model', { scale: 2 });
      assert.equal(model.training?.iterations, 6);
      assert.equal(model.training?.data, TINY);
      assert.match(String(model.training?.backend), /^wasm/);
      assert.equal(typeof model.training?.valPsnrY, 'number');

      const up = await cli([
        'upscale',
        SMALL_COFFEE,
        '--model',
        tmp('run/model_best.safetensors'),
        '-o',
        tmp('up'),
        '--backend',
        'wasm',
      ]);
      assert.equal(up.code, 0, show(up));
      const out = await sharp(tmp('up/coffee_64x64_x2.png')).metadata();
      assert.deepEqual([out.format, out.width, out.height], ['png', 128, 128]);
    });
  });

  test('--resume DIR continues the run to a larger --iters', async () => {
    const configBefore = await fs.readFile(tmp('run/config.json'), 'utf8');
    const r = await cli(['train', '--data', TINY, '--resume', RUN(), '--iters', '9', '--backend', 'wasm', '--json']);
    assert.equal(r.code, 0, show(r));
    const records = jsonLines(r);
    const started = records.find((x) => x.type === 'started');
    assert.equal(started?.iteration, 6, 'it starts from the last checkpoint');
    assert.deepEqual(
      records.filter((x) => x.type === 'progress').map((x) => x.iteration),
      [7, 8, 9],
    );
    const finished = records.at(-1)!;
    assert.equal(finished.type, 'end');
    assert.equal(finished.iteration, 9);
    assert.equal(finished.reason, 'finished');
    assert.equal(finished.model, tmp('run/model_best.safetensors'));
    assert.ok(records.some((x) => x.type === 'checkpoint' && x.iteration === 9));

    assert.equal(await fs.readFile(tmp('run/config.json'), 'utf8'), configBefore, 'config.json is not rewritten');
    const ckpt = decodeCheckpoint(await fs.readFile(tmp('run/checkpoints/ckpt_0000009.safetensors')), 'ckpt');
    assert.equal(ckpt.state.iteration, 9);
    assert.equal(ckpt.state.adamStep, 9);
    assert.equal(ckpt.state.config.iterations, 9);
    const metrics = await readMetrics(RUN());
    assert.deepEqual(
      metrics.filter((m) => 'loss' in m).map((m) => m.iteration),
      [6, 9],
    );
    assert.deepEqual(
      metrics.filter((m) => 'val' in m).map((m) => m.iteration),
      [3, 6, 9],
    );
  });

  test('--degrade photo trains on degraded inputs: config.json and the model record it, and a resume cannot change it', async () => {
    const out = tmp('run-photo');
    const r = await cli([
      'train',
      '--data',
      TINY,
      '--iters',
      '4',
      '--val-every',
      '4',
      '--degrade',
      'photo',
      '--out',
      out,
      ...FAST,
      '--threads',
      '0',
      '--json',
    ]);
    assert.equal(r.code, 0, show(r));
    const started = jsonLines(r).find((x) => x.type === 'started');
    assert.equal((started?.config as { degrade?: string } | undefined)?.degrade, 'photo');
    assert.equal(JSON.parse(await fs.readFile(path.join(out, 'config.json'), 'utf8')).degrade, 'photo');
    const model = decodeModel(await fs.readFile(path.join(out, 'model_best.safetensors')), 'model');
    assert.equal(model.training?.degrade, 'photo');
    assert.match(String(model.training?.command), /--degrade photo/);
    const before = await snapshot(out);
    const again = await cli([
      'train',
      '--data',
      TINY,
      '--resume',
      out,
      '--degrade',
      'none',
      '--iters',
      '8',
      '--backend',
      'wasm',
    ]);
    assertOneError(again, /was trained with the photo training inputs; continue it as it was started/);
    assert.deepEqual(await snapshot(out), before, 'the run is untouched');
    const bad = await cli(['train', '--data', TINY, '--degrade', 'jpeg', '--out', tmp('run-bad-degrade'), ...FAST]);
    assertOneError(bad, /--degrade must be one of none, photo, photo-heavy, not "jpeg"/);
  });

  test('Ctrl-C saves a checkpoint, says how to continue, and exits 130', async () => {
    const out = tmp('run-interrupted');
    let sent = false;
    const r = await cli(['train', '--data', TINY, '--iters', '400', '--val-every', '1000', '--out', out, ...FAST], {
      onStderr: (all, child) => {
        if (!sent && /it \d+\/400/.test(all)) {
          sent = true;
          child.kill('SIGINT');
        }
      },
    });
    assert.ok(sent, show(r));
    assert.equal(r.code, 130, show(r));
    assert.deepEqual(errorLines(r), []);
    assertNoStack(r);
    const m = /Stopped at iteration (\d+); checkpoint saved, continue with --resume (\S+)/.exec(r.stderr);
    assert.ok(m, show(r));
    assert.equal(m[2], out);
    const stopped = Number(m[1]);
    assert.ok(stopped >= 1 && stopped < 400);
    const ckpts = (await fs.readdir(path.join(out, 'checkpoints'))).filter((f) => f.startsWith('ckpt_'));
    assert.deepEqual(ckpts, [`ckpt_${String(stopped).padStart(7, '0')}.safetensors`]);
    const ckpt = decodeCheckpoint(await fs.readFile(path.join(out, 'checkpoints', ckpts[0]!)), 'ckpt');
    assert.equal(ckpt.state.iteration, stopped);
  });

  describe('bad input: one clear error line, a non-zero exit, no stack trace', { concurrency: 2 }, () => {
    test('an empty folder', async () => {
      const r = await cli(['train', '--data', tmp('bad/empty'), '--iters', '2', '--out', tmp('out-empty'), ...FAST]);
      assertOneError(r, /"[^"]*bad\/empty" contains no images/);
    });

    test('a folder of files that are not images', async () => {
      const r = await cli([
        'train',
        '--data',
        tmp('bad/not-images'),
        '--iters',
        '2',
        '--out',
        tmp('out-not-images'),
        ...FAST,
      ]);
      assertOneError(r, /"[^"]*bad\/not-images" contains no images/);
    });

    test('every image smaller than the patch (--patch 128 --scale 4 on the tiny photos)', async () => {
      const r = await cli([
        'train',
        '--data',
        TINY,
        '--patch',
        '128',
        '--scale',
        '4',
        '--iters',
        '2',
        '--out',
        tmp('out-small'),
        '--backend',
        'wasm',
      ]);
      assertOneError(r, /Every image in "[^"]*tiny" is smaller than the 512×512 pixels.*largest is 200×150/);
    });

    test('a run folder that cannot be written (--out under a regular file)', async () => {
      const r = await cli(['train', '--data', TINY, '--iters', '2', '--out', tmp('bad/blocker/run'), ...FAST]);
      assertOneError(r, /Cannot write to "[^"]*bad\/blocker\/run"/);
      assert.equal(await fs.readFile(tmp('bad/blocker'), 'utf8'), 'a regular file where a folder is expected\n');
    });

    test('--resume with another architecture (--scale 3 on an x2 run)', async () => {
      const before = await snapshot(RUN());
      const r = await cli([
        'train',
        '--data',
        TINY,
        '--resume',
        RUN(),
        '--scale',
        '3',
        '--iters',
        '12',
        '--backend',
        'wasm',
      ]);
      assertOneError(r, /trained with scale 2/);
      assert.equal(r.code, 2);
      assert.deepEqual(await snapshot(RUN()), before, 'the run is untouched');
    });

    test('--resume of a folder that is not a run', async () => {
      const r = await cli(['train', '--data', TINY, '--resume', tmp('bad/not-a-run'), '--backend', 'wasm']);
      assertOneError(r, /"[^"]*bad\/not-a-run" is not a training run folder/);
      assert.deepEqual(await listAll(tmp('bad/not-a-run')), ['readme.txt']);
    });

    test('--resume without --data of a run that does not record its training folder', async () => {
      const copy = tmp('run-unrecorded');
      await fs.cp(RUN(), copy, { recursive: true });
      await fs.rm(path.join(copy, 'run.json'));
      const r = await cli(['train', '--resume', copy, '--iters', '12', '--backend', 'wasm']);
      assertOneError(r, /"[^"]*run-unrecorded" does not record its training folder; name it with --data DIR/);
    });

    test('a second train --out into an existing run without --resume is refused', async () => {
      const before = await snapshot(RUN());
      const r = await cli(['train', '--data', TINY, '--iters', '2', '--out', RUN(), ...FAST]);
      assertOneError(r, /already holds a training run; continue it with --resume/);
      assert.deepEqual(await snapshot(RUN()), before, 'the run is untouched');
    });
  });
});

describe('sr-studio train --init', () => {
  const bundled = async (name: string) => {
    const bytes = await fs.readFile(path.join(BUNDLED, `${name}.safetensors`));
    return { model: decodeModel(bytes, name), sha256: createHash('sha256').update(bytes).digest('hex') };
  };
  /** Largest absolute difference between two arrays of the same length. */
  const maxDiff = (a: Float32Array, b: Float32Array) => {
    assert.equal(a.length, b.length);
    let d = 0;
    for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
    return d;
  };

  test("a bundled model by name: the run is scored as it starts, at the model's own quality, never ends worse, and config.json, run.json, the model file and --resume record where it started", async () => {
    const { model: x2, sha256 } = await bundled('tanhexp_x2');
    const out = tmp('run-init');
    const r = await cli([
      'train',
      '--data',
      TINY,
      '--val',
      VAL,
      '--init',
      'tanhexp_x2',
      '--iters',
      '1',
      '--lr',
      '1e-2',
      '--val-every',
      '1',
      '--out',
      out,
      ...FAST,
      '--json',
    ]);
    assert.equal(r.code, 0, show(r));
    const records = jsonLines(r);
    assert.ok(
      records.some((x) => x.type === 'note' && x.message === 'Starting from tanhexp_x2: every weight is loaded.'),
      show(r),
    );
    const vals = records.filter((x) => x.type === 'validation');
    assert.deepEqual(
      vals.map((v) => v.iteration),
      [0, 1],
      'scored at the start and at the end',
    );
    assert.ok(
      Math.abs((vals[0]!.psnrY as number) - x2.training!.valPsnrY!) < 1e-4,
      `${vals[0]!.psnrY} vs the model's own ${x2.training!.valPsnrY}`,
    );
    // Whatever the step does to the weights, the run's model is the best it has scored, the start included.
    const kept = decodeModel(await fs.readFile(path.join(out, 'model_best.safetensors')), 'model').training!;
    assert.equal(kept.valPsnrY, Math.max(...vals.map((v) => v.psnrY as number)));
    assert.ok(kept.valPsnrY! >= (vals[0]!.psnrY as number));

    const init = { model: 'tanhexp_x2', loaded: 'all', sha256 };
    const config = JSON.parse(await fs.readFile(path.join(out, 'config.json'), 'utf8'));
    assert.deepEqual(config.init, init);
    assert.deepEqual(config.network, x2.config, "the model's preset, scale and activation are the run's");
    assert.equal(config.lr, 1e-2, 'the given --lr wins');
    assert.deepEqual(JSON.parse(await fs.readFile(path.join(out, 'run.json'), 'utf8')).init, init);
    assert.deepEqual(
      decodeModel(await fs.readFile(path.join(out, 'model_best.safetensors')), 'model').training?.init,
      init,
    );

    // --resume continues from the checkpoint and keeps the start; another --init is refused.
    const before = await snapshot(out);
    const other = await cli([
      'train',
      '--data',
      TINY,
      '--val',
      VAL,
      '--resume',
      out,
      '--init',
      'tanhexp_photo_x2',
      '--iters',
      '2',
      '--backend',
      'wasm',
    ]);
    assertOneError(other, /was trained with weights started from tanhexp_x2; continue it as it was started/, 2);
    assert.deepEqual(await snapshot(out), before, 'the run is untouched');
    const resumed = await cli([
      'train',
      '--data',
      TINY,
      '--val',
      VAL,
      '--resume',
      out,
      '--init',
      'tanhexp_x2.safetensors',
      '--iters',
      '2',
      '--backend',
      'wasm',
      '--json',
    ]);
    assert.equal(resumed.code, 0, show(resumed));
    assert.ok(
      !jsonLines(resumed).some((x) => x.type === 'note' && /Starting from/.test(String(x.message))),
      'a resumed run does not load the model again',
    );
    const ckpt = decodeCheckpoint(await fs.readFile(path.join(out, 'checkpoints/ckpt_0000002.safetensors')), 'ckpt');
    assert.deepEqual(ckpt.state.config.init, init);
    assert.deepEqual(
      decodeModel(await fs.readFile(path.join(out, 'model_best.safetensors')), 'model').training?.init,
      init,
    );
  });

  test("an x2 model into an x4 run: every layer but the upsampler is loaded, the upsampler is the seed's, and the default peak rate is 1e-4", async () => {
    const { model: x2 } = await bundled('tanhexp_x2');
    const file = path.join(BUNDLED, 'tanhexp_x2.safetensors');
    const out = tmp('run-init-x4');
    const r = await cli([
      'train',
      '--data',
      TINY,
      '--init',
      file,
      '--scale',
      '4',
      '--iters',
      '1',
      '--seed',
      '7',
      '--out',
      out,
      ...FAST,
      '--json',
    ]);
    assert.equal(r.code, 0, show(r));
    const note = jsonLines(r).find((x) => x.type === 'note' && /^Starting from/.test(String(x.message)));
    assert.equal(
      note?.message,
      `Starting from ${file} (x2) for this x4 run: every layer but the upsampler is loaded; the upsampler starts fresh from seed 7.`,
    );
    const config = JSON.parse(await fs.readFile(path.join(out, 'config.json'), 'utf8'));
    assert.deepEqual(config.network, { ...x2.config, scale: 4 });
    assert.equal(config.lr, 1e-4);
    assert.equal(config.init.model, file);
    assert.equal(config.init.loaded, 'all but the upsampler');
    // One step of Adam at 1e-4 / 100 (the first warm-up step) moves each weight by about 1e-6 at most.
    const ckpt = decodeCheckpoint(await fs.readFile(path.join(out, 'checkpoints/ckpt_0000001.safetensors')), 'ckpt');
    const fresh = initialWeights(presetConfig('tiny', 4, 'tanhexp'), 7);
    for (const [name, w] of ckpt.weights) {
      const want = name.startsWith('up.0.') ? fresh.get(name)! : x2.weights.get(name)!;
      assert.ok(maxDiff(w, want) < 1e-5, `${name} is ${name.startsWith('up.0.') ? "the seed's" : "the file's"}`);
    }
    assert.ok(
      maxDiff(ckpt.weights.get('head.weight')!, fresh.get('head.weight')!) > 1e-2,
      'the body is not a fresh init',
    );
  });

  test('a model of another preset or activation is refused in one sentence, before anything is written', async () => {
    const shape = await cli([
      'train',
      '--data',
      TINY,
      '--init',
      'tanhexp_x2',
      '--preset',
      'light',
      '--iters',
      '1',
      ...FAST,
    ]);
    assertOneError(
      shape,
      'tanhexp_x2 has 16 features in 1 group of 3 blocks (tiny), but this run is light (32 features, 3 groups of 4 blocks); pick a model of the same preset, or start from scratch.',
      1,
    );
    const act = await cli([
      'train',
      '--data',
      TINY,
      '--init',
      'swish_x2',
      '--act',
      'tanhexp',
      '--iters',
      '1',
      '--out',
      tmp('run-init-act'),
      ...FAST,
    ]);
    assertOneError(
      act,
      'swish_x2 uses swish, but this run uses tanhexp; pick a model with the same activation, or start from scratch.',
      1,
    );
    const unknown = await cli(['train', '--data', TINY, '--init', 'no_such_model', '--iters', '1', ...FAST]);
    assertOneError(unknown, /no model named "no_such_model"/, 1);
    assert.deepEqual(await listAll(tmp('runs')), [], 'no run folder was made');
    assert.deepEqual(await listAll(tmp('run-init-act')), []);
  });

  test('compare --init starts each activation from its own twin and says so in the fairness line', async () => {
    const out = tmp('compare-init');
    const r = await cli([
      'compare',
      '--data',
      TINY,
      '--init',
      'swish=swish_x2,tanhexp=tanhexp_x2',
      '--iters',
      '1',
      '--out',
      out,
      ...FAST,
    ]);
    assert.equal(r.code, 0, show(r));
    const report = JSON.parse(await fs.readFile(path.join(out, 'report.json'), 'utf8'));
    assert.match(
      report.fairness,
      /^Each of swish, tanhexp was trained from its own model of the same shape \(swish from swish_x2, tanhexp from tanhexp_x2; seeds 0\)/,
    );
    for (const act of ['swish', 'tanhexp']) {
      const config = JSON.parse(await fs.readFile(path.join(out, 'seed_0', act, 'config.json'), 'utf8'));
      assert.equal(config.init.model, `${act}_x2`);
      assert.equal(config.init.loaded, 'all');
      assert.equal(config.lr, 1e-4);
    }
    const one = await cli([
      'compare',
      '--data',
      TINY,
      '--init',
      'swish=swish_x2',
      '--iters',
      '1',
      '--out',
      tmp('compare-init-one'),
      ...FAST,
    ]);
    assertOneError(one, /--init needs one model for each activation compared \(swish=MODEL,tanhexp=MODEL\)/, 2);
  });
});
