/**
 * `npm run build:console`'s last step: writes a brotli (`.br`) and a gzip (`.gz`) copy beside
 * every file of dist/console, which the server then serves as they are instead of compressing
 * them at every start (~0.5 s of brotli before it listened; src/api/routes/console.ts).
 */
import { precompress } from '../src/api/routes/console.ts';

const n = precompress();
console.log(`console: ${n} files compressed (.br, .gz)`);
