// mcpfleet:auth.policyFile at preview (issue 10): the platform-wide Cedar policy file is read
// from the Pulumi project and checked with the controller's own code (platform-policy-file.ts:
// Cedar's parser and the gateway's entity schema), so a broken file fails `pulumi preview` with
// Cedar's message at the file's line, instead of a controller that crash-loops at start.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { loadCedar } from '../controller/auth/policy/cedar.ts';
import { parsePolicies, PolicyFileError } from '../controller/auth/policy/platform-policy-file.ts';
import { ConfigError } from './config.ts';
import type { PlatformPolicy } from './manifests/platformPolicy.ts';

const KEY = 'mcpfleet:auth.policyFile';
/** A ConfigMap holds at most 1 MiB, its keys and metadata included. */
const MAX_POLICY_BYTES = 1000 * 1024;

/** `file` as written in the stack config: relative to the Pulumi project (the working directory). */
export async function loadPlatformPolicy(file: string): Promise<PlatformPolicy> {
  let text: string;
  try {
    text = await readFile(path.resolve(file), 'utf8');
  } catch (err) {
    throw refused(
      `policy file ${file} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); the path is relative to the Pulumi project (${process.cwd()})`,
    );
  }
  if (Buffer.byteLength(text) > MAX_POLICY_BYTES)
    throw refused(
      `policy file ${file} is larger than a ConfigMap holds (${MAX_POLICY_BYTES} bytes)`,
    );
  try {
    parsePolicies(await loadCedar(), text, file);
  } catch (err) {
    if (err instanceof PolicyFileError) throw refused(err.message);
    throw err;
  }
  return { fileName: path.basename(file), text };
}

function refused(message: string): ConfigError {
  return new ConfigError(`invalid stack configuration:\n  ${KEY}: ${message}`);
}
