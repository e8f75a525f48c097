// A log destination for tests that read what the controller logged: it takes every line at
// once (a reader that keeps up) and keeps each record parsed, and how many bytes came.
import { Writable } from 'node:stream';

export interface LogRecord {
  msg: string;
  level: number;
  server?: string;
  stderr?: string;
  stdout?: string;
  stream?: string;
  dropped?: number;
}

export interface LogRecorder {
  stream: Writable;
  records: LogRecord[];
  bytes(): number;
}

export function logRecorder(): LogRecorder {
  const records: LogRecord[] = [];
  let bytes = 0;
  let partial = '';
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      bytes += chunk.length;
      const lines = (partial + chunk.toString()).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) if (line) records.push(JSON.parse(line) as LogRecord);
      callback();
    },
  });
  return { stream, records, bytes: () => bytes };
}
