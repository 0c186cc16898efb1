/**
 * electron-builder configuration (`electron-builder --config electron.config.ts`): Linux AppImage
 * and deb, Windows nsis, macOS dmg. Native modules (sharp's libvips, Dawn's dawn.node, the wasm
 * binaries, ONNX Runtime, tfjs-node-gpu when installed) are unpacked from the asar so they can be loaded.
 */
const config = {
  appId: 'app.srstudio.desktop',
  productName: 'SR Studio',
  directories: { output: 'dist/installers', buildResources: 'assets/build' },
  files: [
    'main/**',
    'ml/**',
    'renderer/dist/**',
    'assets/**',
    '!assets/models/training/**',
    'package.json',
    '!**/*.test.ts',
    '!test/**',
  ],
  asarUnpack: [
    'node_modules/sharp/**',
    'node_modules/@img/**',
    'node_modules/webgpu/**',
    'node_modules/onnxruntime-node/**',
    'node_modules/@tensorflow/tfjs-backend-wasm/dist/*.wasm',
    'node_modules/@tensorflow/tfjs-node-gpu/**',
    'node_modules/@tensorflow/tfjs-node/**',
    'assets/models/**',
  ],
  linux: { target: ['AppImage', 'deb'], category: 'Graphics' },
  deb: { depends: ['libvulkan1'] },
  win: { target: ['nsis'] },
  nsis: { oneClick: false, allowToChangeInstallationDirectory: true },
  mac: { target: ['dmg'], category: 'public.app-category.photography' },
} as const;

export default config;
