// One stdio MCP server process: newline-delimited JSON-RPC on stdin/stdout. stdout lines
// are assembled in linear time (line-splitter.ts), parsed exactly once and handed on with
// their raw text (so responses can be relayed without re-serializing). A message above
// maxMessageBytes is dropped as it streams in: an answer's request gets a JSON-RPC error in
// its place, a request of the server's is refused back to it, and the child carries on.
// stderr is the server's log: it goes to our logger line by line
// (bound to the server by the caller, so each reads `[<slug>] <line>`) and into a short tail
// kept for error messages, and is never treated as an error by itself. Both that log and the
// warnings about noise on stdout are rate-limited per replica (output-rate-limit.ts).
import type { ChildProcess } from 'node:child_process';
import type { Logger } from '../observability/log.ts';
import { formatByteSize } from '../gateway/byte-size.ts';
import { MESSAGE_TOO_LARGE, errorResponse, type JsonRpcMessage } from './jsonrpc.ts';
import { LineSplitter } from './line-splitter.ts';
import { readMessageHead } from './message-head.ts';
import { outputRateLimitOf, type OutputRateLimit } from '../observability/output-rate-limit.ts';
import { outputLog, type OutputLog } from './output-log.ts';
import { spawnInGroup, terminateGroup } from './process-group.ts';

export interface ChildCommand {
  command: string;
  args: string[];
  /**
   * The child's whole environment (the local runtime builds it: child-environment.ts).
   * Omitted: this process's own, for the bridge in a pod, whose environment is the server's.
   */
  env?: Record<string, string>;
  cwd?: string;
}

export interface ChildExit {
  code: number | null;
  signal: string | null;
  /** Spawn failure (ENOENT, EACCES...), when the process never ran. */
  spawnError?: string;
  /** We asked it to stop (DELETE, idle, close): not a crash. */
  expected: boolean;
  /** Last lines of stderr, for error messages. */
  stderrTail: string;
}

export interface StdioChildOptions {
  /** The largest message the child may send, in bytes; default 16 MiB. */
  maxMessageBytes?: number;
}

export const DEFAULT_MAX_MESSAGE_BYTES = 16 * 1024 * 1024;
const STDERR_TAIL_CHARS = 2000;
/** What a line holding a JSON object or array starts with. */
const MAY_BE_JSON = /^\s*[[{]/;

export class StdioChild {
  readonly exited: Promise<ChildExit>;
  readonly pid: number | undefined;
  onMessage: (message: JsonRpcMessage, raw: string) => void = () => {};
  private readonly process: ChildProcess;
  private readonly logger: Logger;
  private readonly stderrLog: OutputLog;
  private readonly outputLimit: OutputRateLimit;
  private readonly stdoutLines: LineSplitter;
  private readonly maxMessageBytes: number;
  private stderrTail = '';
  private stopping = false;
  private alive = true;
  /** Responses that cannot take more: stdout is paused while there is any. */
  private readonly blockedSinks = new Set<NodeJS.EventEmitter>();

  constructor(spec: ChildCommand, logger: Logger, options: StdioChildOptions = {}) {
    this.logger = logger;
    this.stderrLog = outputLog(logger, 'stderr');
    this.outputLimit = outputRateLimitOf(logger);
    this.maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    this.stdoutLines = new LineSplitter({
      maxLineBytes: this.maxMessageBytes,
      onLine: (line) => this.onLine(line),
      onOversized: (head) => this.onOversized(head),
    });
    this.process = spawnInGroup(spec.command, spec.args, {
      cwd: spec.cwd,
      env: spec.env ?? process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.pid = this.process.pid;
    this.exited = new Promise((resolve) => {
      let spawnError: string | undefined;
      this.process.once('error', (err) => {
        spawnError = err.message;
        this.alive = false;
        // 'exit' does not follow a failed spawn.
        if (this.pid === undefined) resolve(this.exitInfo(null, null, spawnError));
      });
      this.process.once('exit', (code, signal) => {
        this.alive = false;
        resolve(this.exitInfo(code, signal, spawnError));
      });
    });
    this.process.stdout?.on('data', (chunk: Buffer) => this.stdoutLines.push(chunk));
    this.process.stdout?.on('end', () => this.stdoutLines.end());
    this.process.stderr?.setEncoding('utf8');
    this.process.stderr?.on('data', (chunk: string) => this.onStderr(chunk));
    this.process.stderr?.on('end', () => this.stderrLog.end());
    // EPIPE when the child died between our check and the write: its exit handles it.
    this.process.stdin?.on('error', (err) => this.logger.debug({ err }, 'child stdin error'));
  }

  get running(): boolean {
    return this.alive;
  }

  /** Writes one serialized JSON-RPC message. Returns false when the child is gone. */
  send(raw: string): boolean {
    const stdin = this.process.stdin;
    if (!this.alive || !stdin || stdin.destroyed) return false;
    stdin.write(raw + '\n');
    return true;
  }

  /**
   * Stops reading the child's stdout until `sink` (a client's response that cannot take more)
   * drains or closes: the child's own writes block, nothing piles up here.
   */
  holdOutputFor(sink: NodeJS.EventEmitter): void {
    if (this.blockedSinks.has(sink)) return;
    this.blockedSinks.add(sink);
    this.process.stdout?.pause();
    const release = (): void => {
      sink.off('drain', release);
      sink.off('close', release);
      this.blockedSinks.delete(sink);
      if (this.blockedSinks.size === 0) this.process.stdout?.resume();
    };
    sink.once('drain', release);
    sink.once('close', release);
  }

  /** Stops the process group (stdin closed, SIGTERM, SIGKILL after a grace period). */
  async stop(graceMs?: number): Promise<void> {
    this.stopping = true;
    this.process.stdin?.end();
    await terminateGroup(this.process, graceMs);
    await this.exited;
  }

  private exitInfo(code: number | null, signal: string | null, spawnError?: string): ChildExit {
    return {
      code,
      signal,
      ...(spawnError ? { spawnError } : {}),
      expected: this.stopping,
      stderrTail: this.stderrTail.trim(),
    };
  }

  private onLine(line: string): void {
    // A JSON-RPC message is an object: a line that cannot start one is noise, known without
    // the cost of a failed parse (a server printing garbage sends hundreds of thousands).
    if (!MAY_BE_JSON.test(line)) return this.noise(line, 'non-JSON line on child stdout');
    let message: unknown;
    try {
      message = JSON.parse(line);
    } catch {
      return this.noise(line, 'non-JSON line on child stdout');
    }
    if (message === null || typeof message !== 'object' || Array.isArray(message)) {
      return this.noise(line, 'unexpected JSON on child stdout');
    }
    this.onMessage(message as JsonRpcMessage, line);
  }

  /**
   * Some servers print banners on stdout: noise, not protocol, told at the rate the replica's
   * output may be logged (a flood of it is counted as dropped stdout lines).
   */
  private noise(line: string, what: string): void {
    if (line.trim() === '' || !this.outputLimit.admit('stdout')) return;
    this.logger.warn({ line: line.slice(0, 200) }, what);
  }

  private onOversized(head: string): void {
    const envelope = readMessageHead(head);
    const limit = `the bridge's limit of ${formatByteSize(this.maxMessageBytes)} (maxMessageBytes)`;
    const id = envelope.id ?? undefined;
    this.logger.warn(
      { id, limit: this.maxMessageBytes, start: head.slice(0, 200) },
      'message on child stdout above the size limit; dropped',
    );
    if (id === undefined) return; // a notification (or no envelope at all): nobody waits for it
    if (envelope.hasMethod) {
      // A request of the server's: refused back to it rather than left unanswered.
      this.send(errorResponse(id, MESSAGE_TOO_LARGE, `request larger than ${limit}; dropped`));
      return;
    }
    const raw = errorResponse(
      id,
      MESSAGE_TOO_LARGE,
      `the MCP server's answer is larger than ${limit}; it was dropped`,
    );
    this.onMessage(JSON.parse(raw) as JsonRpcMessage, raw);
  }

  private onStderr(chunk: string): void {
    this.stderrTail = (this.stderrTail + chunk).slice(-STDERR_TAIL_CHARS);
    this.stderrLog.write(chunk);
  }
}

/** A one-line human reason for an exit, e.g. "exited with code 1: Error: boom". */
export function describeExit(exit: ChildExit): string {
  if (exit.spawnError) return `failed to start: ${exit.spawnError}`;
  const how = exit.signal ? `was killed by ${exit.signal}` : `exited with code ${exit.code}`;
  const lastLine = exit.stderrTail.split('\n').filter(Boolean).slice(-1)[0];
  return lastLine ? `${how}: ${lastLine.slice(0, 300)}` : how;
}
