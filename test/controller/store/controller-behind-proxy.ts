// A controller on the test PostgreSQL, in a schema of its own, reached through a proxy that can
// refuse or freeze on demand (freezable-proxy.ts): how the outage tests take the store away
// from a running controller. close() stops the controller, the proxy and drops the schema.
import { startController, type RunningController } from '../../../controller/start.ts';
import { startFreezableProxy, type FreezableProxy } from './freezable-proxy.ts';
import { DATABASE_URL, dropSchema, isolatedUrl } from './postgres-schema.ts';

export interface ControllerBehindProxy {
  controller: RunningController;
  proxy: FreezableProxy;
  /** The schema's URL straight to PostgreSQL, past the proxy (to set up data it fails on). */
  directUrl: string;
  close(): Promise<void>;
}

export async function startControllerBehindProxy(
  schema: string,
  options: Omit<Parameters<typeof startController>[0], 'databaseUrl'>,
): Promise<ControllerBehindProxy> {
  const proxy = await startFreezableProxy({
    host: '127.0.0.1',
    port: Number(new URL(DATABASE_URL).port || 5432),
  });
  let controller: RunningController;
  try {
    controller = await startController({
      ...options,
      databaseUrl: await isolatedUrl(proxy, schema),
    });
  } catch (err) {
    await proxy.close();
    await dropSchema(schema);
    throw err;
  }
  const direct = new URL(DATABASE_URL);
  direct.searchParams.set('options', `-c search_path=${schema}`);
  return {
    controller,
    proxy,
    directUrl: direct.toString(),
    close: async () => {
      await controller.close();
      await proxy.close();
      await dropSchema(schema);
    },
  };
}
