#!/usr/bin/env node
// The `smarthold` command. A plain file (not built), so npm links the command
// even in a fresh clone before anything is compiled; the code is in dist/.
try {
  await import('../dist/main.js');
} catch (err) {
  if (err?.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist/main.js')) {
    console.error(
      'smarthold: not built yet; run `npm run build` in the smarthold checkout (npm install does it too)',
    );
    process.exit(70);
  }
  throw err;
}
