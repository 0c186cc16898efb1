/**
 * End-to-end tests of `sr-studio info`: the real CLI in a child process, with a fresh
 * SR_STUDIO_MODELS holding one good and one broken weights file.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { runCli } from '../../helpers/cli.ts';

const BACKENDS = ['tensorflow', 'webgpu', 'onnx', 'wasm', 'cpu'] as const;

interface Probe {
  name: string;
  available: boolean;
  gpu: boolean;
  canTrain: boolean;
  device?: string;
  reason?: string;
}
interface Info {
  type: string;
  version: string;
  node: string;
  backends: Probe[];
  auto: { inference: { name: string; why: string }; training: { name: string; why: string } };
  models: Array<{ path: string; config: { scale: number; activation: string; features: number }; parameters: number }>;
  problems: string[];
}

const BUNDLED = path.resolve(import.meta.dirname, '../../../assets/models');
let dir = '';
let modelsDir = '';

const cli = (args: string[]) => runCli(args, { cwd: dir, modelsDir });

/** Whether a tfjs-node package could even be tried from the repository (as backends.ts does). */
function tensorflowInstalled(): boolean {
  const require = createRequire(path.resolve(import.meta.dirname, '../../../ml/node/backends.ts'));
  return ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'].some((p) => {
    try {
      require.resolve(p);
      return true;
    } catch {
      return false;
    }
  });
}

let text = { code: null as number | null, stdout: '', stderr: '' };
let json = { code: null as number | null, stdout: '', stderr: '' };

before(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'sr-cli-info-'));
  modelsDir = path.join(dir, 'models');
  await fs.mkdir(modelsDir);
  const made = await cli([
    'new-model',
    '-o',
    path.join(modelsDir, 'mine.safetensors'),
    '--preset',
    'tiny',
    '--scale',
    '3',
    '--act',
    'swish',
  ]);
  assert.equal(made.code, 0, made.stderr);
  await fs.writeFile(path.join(modelsDir, 'broken.safetensors'), 'not weights');
  [text, json] = await Promise.all([cli(['info']), cli(['info', '--json'])]);
});

after(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

/** The one record of `info --json`, and its backends by name. */
function parsed(): { info: Info; by: Map<string, Probe> } {
  const info = JSON.parse(json.stdout.trimEnd().split('\n')[0]!) as Info;
  return { info, by: new Map(info.backends.map((b) => [b.name, b])) };
}

describe('info --json is one JSON record with every backend, auto choices and the models found', () => {
  test('one line: type info, the version and the Node.js version', () => {
    assert.equal(json.code, 0, json.stderr);
    const lines = json.stdout.trimEnd().split('\n');
    assert.equal(lines.length, 1, json.stdout);
    const info = JSON.parse(lines[0]!) as Info;
    assert.equal(info.type, 'info');
    assert.match(info.version, /^\d+\.\d+\.\d+/);
    assert.equal(info.node, process.versions.node);
  });

  test('every backend, with its device or why it is unavailable; cpu and wasm always there, cpu trains', () => {
    const { info, by } = parsed();
    assert.deepEqual(info.backends.map((b) => b.name).sort(), [...BACKENDS].sort());
    for (const name of ['cpu', 'wasm']) {
      assert.equal(by.get(name)!.available, true, `${name} is always available`);
      assert.ok(by.get(name)!.device, `${name} names its device`);
    }
    assert.equal(by.get('cpu')!.canTrain, true, 'cpu can always train');
    for (const b of info.backends) {
      if (b.available) assert.ok(b.device, `${b.name} is available and names its device`);
      else assert.ok(b.reason && b.reason.length > 5, `${b.name} is unavailable and says why`);
    }
  });

  test('tensorflow is unavailable when not installed; webgpu is available where the tests ask for it', () => {
    const { by } = parsed();
    const tf = by.get('tensorflow')!;
    if (!tensorflowInstalled()) {
      assert.equal(tf.available, false);
      assert.match(tf.reason!, /not installed/);
    }
    if (process.env.SR_TEST_BACKENDS?.split(',').includes('webgpu')) assert.equal(by.get('webgpu')!.available, true);
  });

  test('ONNX Runtime trains where it is available, and auto takes it for both without a hardware GPU', () => {
    const { info, by } = parsed();
    // ONNX Runtime upscales only; on a machine without a hardware GPU, auto upscales with it.
    const onnx = by.get('onnx')!;
    if (process.env.CI) assert.equal(onnx.available, true, onnx.reason ?? 'onnx unavailable');
    assert.equal(onnx.canTrain, onnx.available);
    // Without a hardware GPU, ONNX Runtime upscales and trains.
    if (onnx.available && !info.backends.some((b) => b.available && b.gpu)) {
      assert.equal(info.auto.inference.name, 'onnx');
      assert.equal(info.auto.training.name, 'onnx');
    }
    // The leg of .ci/run with Vulkan hidden: whatever OpenGL finds there is a CPU rasteriser.
    if (process.env.SR_TEST_NO_VULKAN) {
      assert.equal(by.get('webgpu')!.gpu, false, JSON.stringify(by.get('webgpu')));
      assert.equal(info.auto.inference.name, 'onnx');
      assert.equal(info.auto.training.name, 'onnx');
    }
  });

  test('auto picks an available backend for each purpose, one that can train for training, and says why', () => {
    const { info, by } = parsed();
    for (const purpose of ['inference', 'training'] as const) {
      const pick = info.auto[purpose];
      assert.ok(BACKENDS.includes(pick.name as (typeof BACKENDS)[number]), `auto.${purpose}.name is a backend`);
      assert.equal(by.get(pick.name)!.available, true, `auto picks an available backend for ${purpose}`);
      assert.match(pick.why, new RegExp(`^${pick.name}\\b`));
    }
    assert.equal(
      by.get(info.auto.training.name)!.canTrain,
      true,
      'auto never picks a backend that cannot train for training',
    );
  });

  test("the bundled models, then the user's one, described; the broken file is a problem naming it", () => {
    const { info } = parsed();
    // The bundled models, then the user's folder.
    const bundled = info.models.filter((m) => path.dirname(m.path) === BUNDLED);
    assert.deepEqual(bundled.map((m) => `${m.config.activation} x${m.config.scale}`).sort(), [
      'swish x2',
      'tanhexp x2',
      'tanhexp x2',
      'tanhexp x3',
      'tanhexp x3',
      'tanhexp x4',
      'tanhexp x4',
    ]);
    const mine = info.models.filter((m) => path.dirname(m.path) !== BUNDLED);
    assert.equal(mine.length, 1, JSON.stringify(info.models));
    assert.equal(mine[0]!.path, path.join(modelsDir, 'mine.safetensors'));
    assert.equal(mine[0]!.config.scale, 3);
    assert.equal(mine[0]!.config.activation, 'swish');
    assert.equal(mine[0]!.parameters, 22923);
    assert.equal(info.problems.length, 1);
    assert.match(info.problems[0]!, /broken\.safetensors/);
  });
});

describe('info lists each backend on one line, truthfully (the same as --json), then auto and the models', () => {
  const lines = () => text.stdout.split('\n');
  const models = () => lines().slice(lines().indexOf('Models:'));

  test('exits 0 without an error, and starts with the version and the Node.js version', () => {
    assert.equal(text.code, 0, text.stderr);
    assert.doesNotMatch(text.stderr, /^error:|^\s+at /m);
    const { info } = parsed();
    assert.match(
      lines()[0]!,
      new RegExp(`^SR Studio ${info.version.replace(/\./g, '\\.')} \\(Node ${process.versions.node}\\)$`),
    );
  });

  test('one line per backend, in order, saying what --json says: device, GPU, software, upscaling only, or why not', () => {
    const { info } = parsed();
    const backendLines = lines().filter((l) => /^ {2}(tensorflow|webgpu|onnx|wasm|cpu) /.test(l));
    assert.deepEqual(
      backendLines.map((l) => l.trim().split(/\s+/)[0]),
      [...BACKENDS],
      'one line per backend, in order',
    );
    for (const b of info.backends) {
      const line = backendLines.find((l) => l.trim().startsWith(`${b.name} `))!;
      const rest = line.trim().slice(b.name.length).trim();
      if (b.available) {
        assert.ok(rest.startsWith(b.device!), `${b.name}: ${line}`);
        assert.doesNotMatch(rest, /unavailable/);
        assert.equal(rest.includes('(upscaling only)'), !b.canTrain, line);
        assert.equal(rest.includes('[GPU]'), b.gpu, line);
        assert.equal(/\[software: .+; auto uses it only after wasm\]/.test(rest), b.name === 'webgpu' && !b.gpu, line);
      } else {
        assert.equal(rest, `unavailable: ${b.reason}`);
      }
    }
    assert.match(backendLines.find((l) => l.trim().startsWith('cpu '))!, /^ {2}cpu +plain JavaScript$/);
    assert.match(backendLines.find((l) => l.trim().startsWith('wasm '))!, /^ {2}wasm +WebAssembly/);
  });

  test('auto for upscaling and for training, each with why', () => {
    const { info } = parsed();
    assert.ok(lines().includes(`auto for upscaling: ${info.auto.inference.why}`), text.stdout);
    assert.ok(lines().includes(`auto for training:  ${info.auto.training.why}`), text.stdout);
  });

  test("the user's model with its description, the broken file skipped, and the default of each scale marked", () => {
    assert.ok(models().includes(`  ${path.join(modelsDir, 'mine.safetensors')}`), text.stdout);
    assert.ok(
      models().some((l) => /^ {4}x3 swish, 16 features, 1×3 blocks, 22,923 parameters$/.test(l)),
      text.stdout,
    );
    assert.ok(
      models().some((l) => l.startsWith('  skipped: ') && l.includes('broken.safetensors')),
      text.stdout,
    );
    // The default of each scale is marked, and a model for photos says so with its JPEG figure.
    for (const scale of [2, 3, 4]) {
      const i = models().indexOf(
        `  ${path.join(BUNDLED, `tanhexp_photo_x${scale}.safetensors`)} [default for x${scale}]`,
      );
      assert.ok(i > 0, `x${scale} default marked:\n${text.stdout}`);
      assert.match(models()[i + 1]!, /, JPEG q75 \d+\.\d\d dB, trained with the photo degradations$/);
    }
    assert.equal(models().filter((l) => l.includes('[default for')).length, 3, text.stdout);
  });
});
