/** The CLI's help texts: `sr-studio --help` and `sr-studio COMMAND --help`. */
const BACKENDS = 'auto|tensorflow|webgpu|onnx|wasm|cpu';

export const COMMAND_USAGE = {
  upscale: `Usage: sr-studio upscale IN... [options]

Upscale image files and folders (folders recursively). Outputs are named NAME_x2.png (etc.) next to
each input, or under OUTDIR (mirroring sub-folders). Inputs are never overwritten.

Options:
  -o, --out OUTDIR        where the results go (default: next to each input)
  -m, --model FILE        a .safetensors model, an ONNX model (.onnx, run as it is: see "models"),
                          or a model's name as "info" lists it (default: the best model of the
                          scale trained for photos (train --degrade), else the best TanhExp one)
  -s, --scale 2|3|4       pick the bundled model of that scale, or check the given one (default 2)
  -f, --format FMT        png|jpg|webp|tiff|avif (default png)
      --tile N            input pixels per tile (default: by backend and network width)
      --overlap N         context margin per tile (default: the network's receptive radius; for
                          an ONNX model, the margin its probe found)
      --range 0-1|0-255   the values an ONNX model takes (default: its metadata, else a probe)
  -b, --backend B         ${BACKENDS} (default auto: a GPU when there is one, else ONNX
                          Runtime on the CPU, else WebAssembly)
      --overwrite         replace existing outputs
      --json              JSON lines on stdout`,
  train: `Usage: sr-studio train --data DIR [options]

Train a network on a folder of photos. The best model is saved as OUT/model_best.safetensors.
Ctrl-C saves a checkpoint; --resume OUT continues where it stopped, or further with more --iters.

Options:
  -d, --data DIR          training photos (required)
      --val DIR           validation photos (default: a held-out tenth of --data)
  -s, --scale 2|3|4       upscaling factor (default 2)
      --act NAME          tanhexp|swish|mish|relu (default tanhexp)
      --preset NAME       tiny|light|standard (default tiny)
      --iters N           iterations (default 2000)
      --degrade NAME      none|photo|photo-heavy: how the inputs are made (default none: clean
                          bicubic; photo: blur, noise and JPEG as in real photos)
      --init MODEL        start from a trained model (a bundled model's name, e.g. tanhexp_photo_x2,
                          or a .safetensors file) instead of from scratch; its preset, scale and
                          activation are the run's defaults. Another --scale loads all but the
                          upsampler; another preset or activation is refused
      --lr X              peak learning rate, 1e-7 to 1 (default 4e-4, Swish and ReLU 5e-4; with
                          --init 1e-4: the weights are already near a good solution, and the full
                          rate would first undo part of what they learned; perceptual 1e-4, for
                          the network and the discriminator alike, as Real-ESRGAN)
      --objective NAME    pixel|perceptual (default pixel). perceptual adds an adversarial loss
                          from a discriminator trained beside the network, for crisp edges and
                          texture where pixel losses give soft ones, at some cost in PSNR; it
                          trains on ONNX Runtime only (auto picks it). Usually started from a
                          pixel-trained model (--init tanhexp_photo_x4); from scratch works, more
                          slowly. Its model is the latest validated weights, not the best PSNR
                          (that would be the least perceptual); validations report "detail"
      --adv-weight X      weight of the adversarial loss beside the pixel loss's 1, 0.001 to 10
                          (default 0.1, Real-ESRGAN's beside its L1 1.0: edges sharpen while L1
                          keeps colours and shapes; higher sharpens sooner at more cost in PSNR,
                          and from the x4 photo model 0.3 brings colour halos at edges and 1 a
                          checkerboard within 300 steps)
      --batch N, --patch N, --seed N, --ema DECAY, --loss l1|charbonnier
      --val-every N       validate every N iterations (default: about ten times a run)
      --val-max-side N    centre-crop validation images to N pixels a side (0: whole images)
  -b, --backend B         ${BACKENDS} (default auto: a GPU when there is one, else ONNX
                          Runtime on the CPU, else WebAssembly)
      --threads N         extra threads on CPU backends (default: one per extra core): on onnx,
                          ONNX Runtime runs each step on 1 + N threads; on wasm and cpu, each
                          batch is split across 1 + N threads
  -o, --out DIR           the run folder (default runs/<settings>)
  -r, --resume DIR        continue the run in DIR, on the folders it records (--data and --val only
                          where they moved); --iters N beyond its end trains a finished run further
      --json              JSON lines on stdout`,
  compare: `Usage: sr-studio compare --data DIR --val DIR [options]

Train each activation identically (same initial weights, batches, order, iterations and learning
rate) and report which wins: report.md, report.json and contact_sheet.png in OUT.

Options:
      --acts A,B          activations to compare (default swish,tanhexp)
      --seeds K           repeat with K seeds and report mean ± sd and a paired t (default 1)
      --init A=MODEL,B=MODEL  start each activation from its own trained model of the same shape
                          and scale (e.g. swish=swish_x2,tanhexp=tanhexp_x2; default lr then 1e-4)
      --iters N, --preset P, --scale N, --batch N, --patch N, --lr X, --seed N, --degrade NAME
      --objective NAME    pixel|perceptual (default pixel). perceptual adds an adversarial loss
                          from a discriminator trained beside each network (each seed's
                          discriminator starting alike), for crisp edges and texture where pixel
                          losses give soft ones, at some cost in PSNR; it trains on ONNX Runtime
                          only (auto picks it). The report gives each activation's detail beside
                          its PSNR
      --adv-weight X      weight of the adversarial loss beside the pixel loss's 1, 0.001 to 10
                          (default 0.1, Real-ESRGAN's beside its L1 1.0)
  -b, --backend B         ${BACKENDS} (default auto; ONNX Runtime for --objective perceptual)
      --threads N         extra threads on CPU backends (as for train)
  -o, --out DIR           the comparison folder (must be new or empty)
      --json              JSON lines on stdout`,
  info: `Usage: sr-studio info [--json]

Version, every backend with its device (or why it is unavailable), what auto picks for upscaling
and for training and why, and the models found.`,
  'new-model': `Usage: sr-studio new-model -o FILE.safetensors [options]

Save a freshly initialised (untrained) network as a weights file.

Options:
      --preset tiny|light|standard   (default tiny)
      --scale 2|3|4                  (default 2)
      --act tanhexp|swish|mish|relu  (default tanhexp)
      --seed N                       (default 0)
      --overwrite                    replace an existing file`,
  export: `Usage: sr-studio export MODEL --format onnx [-o FILE] [--overwrite] [--json]

Write the weights file as an ONNX model (opset 17, input [N, 3, H, W] RGB in 0-1, any height and
width) for ONNX Runtime, chaiNNer and other tools. The default output is NAME.onnx in the current
folder.`,
  models: `Usage: sr-studio models import FILE.onnx [--overlap N] [--range 0-1|0-255] [--overwrite] [--json]

Import an ONNX super-resolution model (Real-ESRGAN, compact VGG-style, SPAN, RRDB, …) into your
models folder, where "upscale --model NAME" and the app find it. It must take one RGB image
[N, 3, H, W] (float32 or float16, any or a fixed size) and give one; its scale, input range and the
context a tile needs are found by running it on small tiles and recorded beside it (NAME.onnx.json,
with its source and checksum). Imported models can upscale but cannot be trained or fine-tuned.

Options:
      --overlap N         context margin per tile instead of the one found (16-512)
      --range 0-1|0-255   the values it takes, when its metadata does not say and the probe guesses wrong
      --overwrite         replace an imported model of the same name`,
} as const;

export const USAGE = `Usage: sr-studio <command> [options]

Commands:
  upscale IN...        upscale image files and folders
  train --data DIR     train a network on a folder of photos
  compare --data DIR   train activations identically and report which wins
  info                 backends, devices and models found
  new-model -o FILE    save an untrained network
  export MODEL         write a model as ONNX
  models import FILE   import an ONNX super-resolution model

Run "sr-studio COMMAND --help" for a command's options, "sr-studio --version" for the version.`;
