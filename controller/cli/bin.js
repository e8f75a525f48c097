#!/usr/bin/env node
// The `mcpfleet` executable. A plain .js shim so `npx mcpfleet` works; Node ≥ 22.19 runs
// the TypeScript sources directly (type stripping), so there is no build step.
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 19)) {
  console.error(
    `mcpfleet needs Node.js >= 22.19 (this is ${process.versions.node}). ` +
      'Run it through npm (npm start, npx mcpfleet) so the project-local Node 22 from ' +
      'node_modules/.bin comes first on PATH, or install Node 22.19+.',
  );
  process.exit(1);
}
// A reader that went away (`mcpfleet logs -f | head`) ends the output; it is no error.
process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});
const { main } = await import('./main.ts');
process.exitCode = await main(process.argv);
