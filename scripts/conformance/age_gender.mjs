// Predicts ages with @vladmandic/face-api's own AgeGenderNet on
// TensorFlow.js's pure-JavaScript CPU backend: the reference that
// fairage's Go rebuild (package faceapimodel, preset face-api-age) is
// checked against (its conformance test writes the images and compares).
//
//   node age_gender.mjs NODE_DIR MODEL_DIR IMAGES N OUT
//
// NODE_DIR   the environment scripts/setup-models.sh installs (build/node)
// MODEL_DIR  the folder holding age_gender_model-weights_manifest.json
// IMAGES     N raw 112×112×3 RGB uint8 images, back to back
// OUT        JSON written: {tfjs, faceapi, backend, ages: [...], male: [...]}
//
// Each image goes in as a [112, 112, 3] tensor, so face-api neither pads
// nor resizes it: both sides see the same pixels.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

const [nodeDir, modelDir, imagesPath, nArg, outPath] = process.argv.slice(2);
if (!outPath) {
  console.error('usage: node age_gender.mjs NODE_DIR MODEL_DIR IMAGES N OUT');
  process.exit(2);
}
const n = Number(nArg);
const size = 112;
const require = createRequire(path.join(path.resolve(nodeDir), 'package.json'));
const tf = require('@tensorflow/tfjs');
const faceapi = require('@vladmandic/face-api/dist/face-api.node-wasm.js');

async function main() {
  if (!(await tf.setBackend('cpu'))) throw new Error('the tfjs cpu backend did not initialise');
  await tf.ready();
  const net = faceapi.nets.ageGenderNet;
  await net.loadFromDisk(modelDir);
  const pixels = fs.readFileSync(imagesPath);
  const per = size * size * 3;
  if (pixels.length !== n * per) {
    throw new Error(`${imagesPath}: ${pixels.length} bytes, expected ${n} images of ${per}`);
  }
  const ages = [];
  const male = [];
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i += 1) {
    const img = tf.tensor3d(new Uint8Array(pixels.buffer, pixels.byteOffset + i * per, per), [size, size, 3], 'int32');
    const r = await net.predictAgeAndGender(img);
    img.dispose();
    ages.push(r.age);
    male.push(r.gender === 'male' ? r.genderProbability : 1 - r.genderProbability);
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const out = { tfjs: tf.version.tfjs, faceapi: faceapi.version, backend: tf.getBackend(), seconds, ages, male };
  fs.writeFileSync(outPath, JSON.stringify(out));
}

main().catch((err) => {
  console.error(`age_gender: ${err.stack || err}`);
  process.exit(1);
});
