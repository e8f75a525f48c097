// Types of infra/main.js (plain JavaScript, so that any Node can load it and say what it needs).
export declare const MINIMUM_NODE: [number, number];
export declare function nodeProblem(version?: string, execPath?: string): string | undefined;
declare function main(): Promise<unknown>;
export default main;
