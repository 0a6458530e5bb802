// Computes face descriptors with @vladmandic/face-api's own
// FaceRecognitionNet on TensorFlow.js's pure-JavaScript CPU backend: the
// reference that fairage's Go face_resnet is checked against
// (tfmodel's conformance test writes the images and compares).
//
//   node face_descriptors.mjs NODE_DIR MODEL_DIR IMAGES N SIZE OUT
//
// NODE_DIR   the environment scripts/setup-models.sh installs (build/node)
// MODEL_DIR  the folder holding face_recognition_model-weights_manifest.json
// IMAGES     N raw SIZE×SIZE×3 RGB uint8 images, back to back
// OUT        JSON written: {tfjs, faceapi, backend, descriptors: [[128 numbers], ...]}
//
// Each image goes in as a [SIZE, SIZE, 3] tensor, so face-api neither pads
// nor resizes it when SIZE is 150: both sides see the same pixels.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

const [nodeDir, modelDir, imagesPath, nArg, sizeArg, outPath] = process.argv.slice(2);
if (!outPath) {
  console.error('usage: node face_descriptors.mjs NODE_DIR MODEL_DIR IMAGES N SIZE OUT');
  process.exit(2);
}
const n = Number(nArg);
const size = Number(sizeArg);
const require = createRequire(path.join(path.resolve(nodeDir), 'package.json'));
const tf = require('@tensorflow/tfjs');
// The node-wasm build takes TensorFlow.js from @tensorflow/tfjs (the same
// module instance as above); the backend is then chosen explicitly.
const faceapi = require('@vladmandic/face-api/dist/face-api.node-wasm.js');

async function main() {
  if (!(await tf.setBackend('cpu'))) throw new Error('the tfjs cpu backend did not initialise');
  await tf.ready();
  const net = faceapi.nets.faceRecognitionNet;
  await net.loadFromDisk(modelDir);

  const pixels = fs.readFileSync(imagesPath);
  const per = size * size * 3;
  if (pixels.length !== n * per) {
    throw new Error(`${imagesPath}: ${pixels.length} bytes, expected ${n} images of ${per}`);
  }
  const descriptors = [];
  for (let i = 0; i < n; i += 1) {
    const img = tf.tensor3d(new Uint8Array(pixels.buffer, pixels.byteOffset + i * per, per), [size, size, 3], 'int32');
    const d = await net.computeFaceDescriptor(img);
    img.dispose();
    descriptors.push(Array.from(d));
  }
  const out = { tfjs: tf.version.tfjs, faceapi: faceapi.version, backend: tf.getBackend(), descriptors };
  fs.writeFileSync(outPath, JSON.stringify(out));
}

main().catch((err) => {
  console.error(`face_descriptors: ${err.stack || err}`);
  process.exit(1);
});
