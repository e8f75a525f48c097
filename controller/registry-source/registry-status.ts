// How the registry stands while the controller runs, for `status` and /api/v1/registry: a
// change that was rejected keeps the previous servers, and this is where an operator sees why.
import type { RegistryStatusView } from '../api/types.ts';
import { formatProblem } from '../../registry/catalog/problems.ts';
import type { Problem } from '../../registry/catalog/spec.ts';
import type { RegistrySource } from './registry-source.ts';

export class RegistryStatus {
  private view: RegistryStatusView;

  constructor(source: RegistrySource, servers: number) {
    this.view = { location: source.location, format: source.format, servers, lastChange: null };
  }

  applied(servers: number): void {
    this.view = {
      ...this.view,
      servers,
      lastChange: { at: new Date().toISOString(), outcome: 'applied', problems: [] },
    };
  }

  rejected(problems: readonly Problem[]): void {
    this.view = {
      ...this.view,
      lastChange: {
        at: new Date().toISOString(),
        outcome: 'rejected',
        problems: problems.map(formatProblem),
      },
    };
  }

  toJSON(): RegistryStatusView {
    return this.view;
  }
}
