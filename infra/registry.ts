// Loads the compiled registry for the program. A registry with problems stops the deployment:
// deploying half of a broken registry would silently drop servers.
import { formatProblem, loadRegistry } from '../registry/catalog/index.ts';
import type { ServerSpec } from '../registry/catalog/spec.ts';

export async function loadSpecs(dir: string): Promise<ServerSpec[]> {
  const { specs, problems } = await loadRegistry(dir);
  if (problems.length > 0) {
    throw new Error(
      `registry ${dir} has ${problems.length} problem(s):\n  ${problems.map(formatProblem).join('\n  ')}`,
    );
  }
  return specs;
}
