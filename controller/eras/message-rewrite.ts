// Rewrites the JSON-RPC messages of a response body as it streams: a JSON body is one
// message (or a batch) rewritten when it has all arrived; an SSE body is rewritten event by
// event, so a long stream keeps flowing. Used where the gateway translates between eras and
// a backend's answers must say what the client's era expects.

export type MessageRewrite = (message: Record<string, unknown>) => Record<string, unknown>;

/** One rewrite doing `first`, then `second`; either may be absent (then none: undefined). */
export function composeRewrites(
  first: MessageRewrite | undefined,
  second: MessageRewrite | undefined,
): MessageRewrite | undefined {
  if (!first || !second) return first ?? second;
  return (message) => second(first(message));
}

/** Consumes upstream chunks and yields what the client gets instead. */
export interface BodyRewriter {
  data(chunk: Buffer): Buffer | undefined;
  end(): Buffer | undefined;
}

export function bodyRewriter(contentType: string, rewrite: MessageRewrite): BodyRewriter {
  return contentType.includes('text/event-stream')
    ? new SseRewriter(rewrite)
    : new JsonRewriter(rewrite);
}

class JsonRewriter implements BodyRewriter {
  private readonly chunks: Buffer[] = [];
  private readonly rewrite: MessageRewrite;
  constructor(rewrite: MessageRewrite) {
    this.rewrite = rewrite;
  }

  data(chunk: Buffer): undefined {
    this.chunks.push(chunk);
    return undefined;
  }

  end(): Buffer {
    const text = Buffer.concat(this.chunks).toString('utf8');
    return Buffer.from(rewriteJsonText(text, this.rewrite));
  }
}

class SseRewriter implements BodyRewriter {
  private pending = '';
  private readonly rewrite: MessageRewrite;
  constructor(rewrite: MessageRewrite) {
    this.rewrite = rewrite;
  }

  data(chunk: Buffer): Buffer | undefined {
    this.pending += chunk.toString('utf8');
    // Events end with a blank line (LF or CRLF); everything before the last one is complete.
    const boundary = lastEventBoundary(this.pending);
    if (boundary < 0) return undefined;
    const complete = this.pending.slice(0, boundary);
    this.pending = this.pending.slice(boundary);
    return Buffer.from(this.rewriteEvents(complete));
  }

  end(): Buffer | undefined {
    const rest = this.pending;
    this.pending = '';
    return rest ? Buffer.from(this.rewriteEvents(rest)) : undefined;
  }

  private rewriteEvents(text: string): string {
    return text.replace(/^data:[ ]?(.*)$/gm, (line, payload: string) => {
      const rewritten = rewriteJsonText(payload, this.rewrite);
      return rewritten === payload ? line : `data: ${rewritten}`;
    });
  }
}

function lastEventBoundary(text: string): number {
  const lf = text.lastIndexOf('\n\n');
  const crlf = text.lastIndexOf('\r\n\r\n');
  if (crlf >= 0 && crlf + 4 > lf + 2) return crlf + 4;
  return lf >= 0 ? lf + 2 : -1;
}

/** The same text when it is not JSON-RPC (or not JSON at all): relayed as it came. */
function rewriteJsonText(text: string, rewrite: MessageRewrite): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return text;
  }
  const apply = (m: unknown): unknown =>
    typeof m === 'object' && m !== null && !Array.isArray(m)
      ? rewrite(m as Record<string, unknown>)
      : m;
  return JSON.stringify(Array.isArray(parsed) ? parsed.map(apply) : apply(parsed));
}
