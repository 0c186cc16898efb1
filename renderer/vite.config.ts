import { fileURLToPath } from 'node:url';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { defineConfig, type Plugin } from 'vite';

/**
 * Builds renderer/index.html into renderer/dist/ with relative asset paths, so the same files load
 * from file:// in Electron and from the browser-mode server.
 *
 * `vite dev` injects styles inline, which the page's CSP forbids; this plugin relaxes style-src for
 * the dev server only. Set SR_STUDIO_SERVER to the address a running browser-mode server printed
 * (http://127.0.0.1:PORT/?token=…) to proxy /ws, /file and /upload to it while developing: the
 * proxy sends the server its own Host and Origin and the session cookie made from that token.
 */
const devCsp = (): Plugin => ({
  name: 'sr-studio-dev-csp',
  apply: 'serve',
  transformIndexHtml: (html) => html.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'"),
});

const server = process.env['SR_STUDIO_SERVER'] ? new URL(process.env['SR_STUDIO_SERVER']) : undefined;
const toServer = server && {
  target: server.origin,
  changeOrigin: true,
  headers: {
    origin: server.origin,
    cookie: `sr-studio-token-${server.port}=${server.searchParams.get('token') ?? ''}`,
  },
};

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: './',
  plugins: [svelte(), devCsp()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    chunkSizeWarningLimit: 600,
  },
  server: toServer ? { proxy: { '/ws': { ...toServer, ws: true }, '/file': toServer, '/upload': toServer } } : {},
});
