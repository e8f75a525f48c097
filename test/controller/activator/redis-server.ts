// A Redis of the test's own (redis-server on a free port, nothing saved), so a test can stop
// it (SIGSTOP: a hung server), resume it, or kill and restart it on the same port.
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { freePort } from '../support/free-port.ts';
import { waitFor } from '../support/processes.ts';

export interface OwnRedis {
  url: string;
  stop(): void;
  resume(): void;
  /** SIGKILL: the server is gone (its data with it). */
  kill(): Promise<void>;
  /** A new, empty server on the same port. */
  start(): Promise<void>;
  close(): Promise<void>;
}

export async function startOwnRedis(): Promise<OwnRedis> {
  const port = await freePort();
  let server: ChildProcess;
  const launch = async (): Promise<void> => {
    server = spawn('redis-server', ['--port', String(port), '--save', '', '--appendonly', 'no'], {
      stdio: 'ignore',
    });
    await waitFor(() => accepts(port), 10_000, `redis-server on port ${port}`);
  };
  const kill = async (): Promise<void> => {
    if (server.exitCode !== null || server.signalCode !== null) return;
    const exited = new Promise((resolve) => server.once('exit', resolve));
    server.kill('SIGKILL');
    await exited;
  };
  await launch();
  return {
    url: `redis://127.0.0.1:${port}`,
    stop: () => server.kill('SIGSTOP'),
    resume: () => server.kill('SIGCONT'),
    kill,
    start: launch,
    close: kill,
  };
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
