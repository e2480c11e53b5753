// The console's build (npm's `prepare` runs it): served by Hookline itself at /console/, so
// every asset is local (no CDN, fonts or scripts from elsewhere) and there is no inline script.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root,
  base: '/console/',
  logLevel: 'warn',
  build: {
    outDir: fileURLToPath(new URL('../../dist/console', import.meta.url)),
    emptyOutDir: true,
    // no inline module-preload helper: the CSP allows scripts from this origin only
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
  },
  esbuild: { jsx: 'automatic' },
});
