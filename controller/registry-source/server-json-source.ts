// The source registry, registry/servers/<slug>/server.json: loaded and compiled by the
// catalog (the one compiler). Read once: a checkout changes by restarting the controller
// (`npm start` again), so watch() never fires.
import { loadRegistry } from '../../registry/catalog/index.ts';
import type { RegistryLoad, RegistrySource } from './registry-source.ts';

export class ServerJsonDirectorySource implements RegistrySource {
  readonly format = 'server-json' as const;
  readonly location: string;

  constructor(dir: string) {
    this.location = dir;
  }

  async load(): Promise<RegistryLoad> {
    const { specs, problems } = await loadRegistry(this.location);
    return { specs, problems };
  }

  watch(): () => void {
    return () => undefined;
  }
}
