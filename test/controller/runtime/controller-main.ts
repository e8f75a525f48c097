// A controller as a process of its own, serving the specs given as JSON in MCPFLEET_TEST_SPECS
// (hand-built specs: the hostile fixture has no package a registry could name). It is
// startController, what `mcpfleet serve` runs, with an in-memory database; it prints
// "listening on <url>" once it serves, and runs until it is killed.
import { startController } from '../../../controller/start.ts';
import type { ServerSpec } from '../../../registry/catalog/spec.ts';

const specs = JSON.parse(process.env.MCPFLEET_TEST_SPECS ?? '[]') as ServerSpec[];
const controller = await startController({
  specs,
  port: 0,
  dataDir: 'memory://',
  logLevel: process.env.MCPFLEET_LOG_LEVEL ?? 'silent',
});
process.stdout.write(`listening on ${controller.url}\n`);
