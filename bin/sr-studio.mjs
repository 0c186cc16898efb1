#!/usr/bin/env node
// Runs the TypeScript sources directly (tsx), so the CLI needs no build step.
let main;
try {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('../ml/cli/main.ts'));
} catch (e) {
  const first = String(e?.message ?? e).split('\n')[0];
  process.stderr.write(`error: SR Studio could not start (${first}); run "npm install" in SR Studio's folder.\n`);
  process.exit(1);
}
process.exitCode = await main(process.argv.slice(2));
