// The Cedar policy engine (@cedar-policy/cedar-wasm, its Node build), loaded when a policy
// first needs it: 4 MB of WebAssembly that a controller without any access block or policy
// file, and every other `mcpfleet` command, never pays for.
export type Cedar = typeof import('@cedar-policy/cedar-wasm/nodejs');

let loading: Promise<Cedar> | undefined;

export function loadCedar(): Promise<Cedar> {
  return (loading ??= import('@cedar-policy/cedar-wasm/nodejs'));
}
