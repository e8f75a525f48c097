// Where `mcpfleet serve` listens and what it serves when not told: plain constants, apart from
// start.ts so the command tree can show them in --help without loading the controller.

export const DEFAULT_PORT = 8080;
export const DEFAULT_HOST = '127.0.0.1';
/** A pod must be reachable by its probes and its Service: every interface. */
export const KUBERNETES_DEFAULT_HOST = '0.0.0.0';
export const DEFAULT_REGISTRY = 'registry/servers';
/**
 * How long a shutdown lets requests in flight finish. The controller pod's
 * terminationGracePeriodSeconds (45 s) leaves room for it plus stopping children and closing
 * the store and coordination (each bounded).
 */
export const DEFAULT_SHUTDOWN_GRACE_MS = 20_000;
