// Run a host command and collect its output; failures carry the command line and stderr.
import { execFile } from 'node:child_process';

export class CommandError extends Error {
  readonly code: number | null;
  readonly stderr: string;
  constructor(argv: string[], code: number | null, stderr: string) {
    super(`${argv.join(' ')} exited ${code}: ${stderr.trim()}`);
    this.code = code;
    this.stderr = stderr;
  }
}

export function run(file: string, args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      file,
      args,
      { maxBuffer: 16 * 1024 * 1024, timeout: 30_000 },
      (err, stdout, stderr) => {
        if (err) {
          const code = typeof err.code === 'number' ? err.code : null;
          reject(new CommandError([file, ...args], code, stderr || err.message));
        } else resolve(stdout);
      },
    );
    if (input !== undefined) child.stdin?.end(input);
  });
}
