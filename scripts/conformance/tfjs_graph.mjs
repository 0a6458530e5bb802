// Runs a TF.js graph model with TensorFlow.js itself (pure-JavaScript CPU
// backend, the model read by tfjs's own loader): the reference that
// fairage's imported tfjs models are checked and benchmarked against
// (tfjsmodel's conformance test and bench/tfjs write the images and compare).
//
//   node tfjs_graph.mjs NODE_DIR MODEL_JSON IMAGES N SIZE PREP OUTPUT OUT [REPEAT [BACKEND]]
//
// NODE_DIR    the environment scripts/setup-models.sh installs (build/node)
// MODEL_JSON  the graph model's model.json (shards beside it)
// IMAGES      N raw SIZE×SIZE×3 RGB uint8 images, back to back
// PREP        JSON {"color": "rgb"|"bgr", "mean": [m0, m1, m2] or [], "scale": s}:
//             each input value is (byte − mean[c]) × scale in the model's channel order;
//             or {"human": "emotion"}: the human library's own emotion preprocessing
// OUTPUT      the output tensor to fetch (e.g. Identity:0)
// OUT         JSON written: {tfjs, backend, outputs: [[row], ...], passes: [seconds of
//             each pass], seconds: the fastest, n}
// REPEAT      run the whole set this many times and time it (default 1; above 1,
//             after one untimed warm-up pass)
// BACKEND     cpu (pure JavaScript, default: the conformance reference) or wasm
//             (@tensorflow/tfjs-backend-wasm, single-threaded SIMD in Node)
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

const [nodeDir, modelPath, imagesPath, nArg, sizeArg, prepArg, outputName, outPath, repeatArg, backendArg] = process.argv.slice(2);
if (!outPath) {
  console.error('usage: node tfjs_graph.mjs NODE_DIR MODEL_JSON IMAGES N SIZE PREP OUTPUT OUT [REPEAT [BACKEND]]');
  process.exit(2);
}
const n = Number(nArg);
const size = Number(sizeArg);
const repeat = Number(repeatArg || 1);
const backend = backendArg || 'cpu';
const prep = JSON.parse(prepArg);
const require = createRequire(path.join(path.resolve(nodeDir), 'package.json'));
const tf = require('@tensorflow/tfjs');

// load reads model.json and its shards from disk into tfjs's own loader
// (tf.io.fromMemory), exactly as it would read them over HTTP.
async function load() {
  const mj = JSON.parse(fs.readFileSync(modelPath, 'utf8'));
  const dir = path.dirname(modelPath);
  const weightSpecs = mj.weightsManifest.flatMap((g) => g.weights);
  const buf = Buffer.concat(mj.weightsManifest.flatMap((g) => g.paths.map((p) => fs.readFileSync(path.join(dir, p)))));
  const weightData = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length);
  return tf.loadGraphModel(tf.io.fromMemory({
    modelTopology: mj.modelTopology, weightSpecs, weightData, format: mj.format,
    generatedBy: mj.generatedBy, convertedBy: mj.convertedBy, signature: mj.signature,
    userDefinedMetadata: mj.userDefinedMetadata,
  }));
}

function input(pixels) {
  return tf.tidy(() => {
    let x = tf.tensor4d(new Uint8Array(pixels.buffer, pixels.byteOffset, pixels.length), [n, size, size, 3], 'int32').toFloat();
    if (prep.human === 'emotion') {
      // The human library's src/gear/emotion.ts, step by step, on its
      // [0, 1] input: weighted rgb to gray, then (gray − 0.5) × 2.
      x = tf.div(x, 255);
      const [red, green, blue] = tf.split(x, 3, 3);
      const gray = tf.addN([tf.mul(red, 0.2989), tf.mul(green, 0.5870), tf.mul(blue, 0.1140)]);
      return tf.mul(tf.sub(gray, 0.5), 2);
    }
    if (prep.color === 'bgr') x = tf.reverse(x, 3);
    if (prep.mean && prep.mean.length) x = tf.sub(x, tf.tensor1d(prep.mean));
    if (prep.scale !== 1) x = tf.mul(x, tf.scalar(prep.scale));
    return x;
  });
}

async function main() {
  if (backend === 'wasm') require('@tensorflow/tfjs-backend-wasm');
  if (!(await tf.setBackend(backend))) throw new Error(`the tfjs ${backend} backend did not initialise`);
  await tf.ready();
  const model = await load();
  const pixels = fs.readFileSync(imagesPath);
  if (pixels.length !== n * size * size * 3) {
    throw new Error(`${imagesPath}: ${pixels.length} bytes, expected ${n} images of ${size}x${size}x3`);
  }
  let rows = null;
  if (repeat > 1) { // a warm-up pass (the wasm backend compiles its kernels)
    const x = input(pixels);
    const y = model.execute(x, outputName);
    await y.data();
    tf.dispose([x, y]);
  }
  const passes = [];
  for (let r = 0; r < repeat; r += 1) {
    const t0 = process.hrtime.bigint();
    const x = input(pixels);
    const y = model.execute(x, outputName);
    const data = await y.data();
    const w = data.length / n;
    rows = [];
    for (let i = 0; i < n; i += 1) rows.push(Array.from(data.subarray(i * w, (i + 1) * w)));
    tf.dispose([x, y]);
    passes.push(Number(process.hrtime.bigint() - t0) / 1e9);
  }
  const seconds = Math.min(...passes);
  fs.writeFileSync(outPath, JSON.stringify({ tfjs: tf.version.tfjs, backend: tf.getBackend(), outputs: rows, seconds, passes, n }));
}

main().catch((err) => {
  console.error(`tfjs_graph: ${err.stack || err}`);
  process.exit(1);
});
