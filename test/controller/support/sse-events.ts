// Reads a text/event-stream response event by event, for tests that send requests by hand.

export interface SseEvent {
  /** The event's `id:` line ('' without one). */
  id: string;
  /** Its `data:` line ('' without one). */
  data: string;
}

/** The events of `res` as they arrive; stop early by leaving the loop (the body is released). */
export async function* sseEvents(res: Response): AsyncGenerator<SseEvent> {
  const decoder = new TextDecoder();
  let text = '';
  for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
    text += decoder.decode(chunk, { stream: true });
    let end: number;
    while ((end = text.indexOf('\n\n')) !== -1) {
      const block = text.slice(0, end);
      text = text.slice(end + 2);
      yield {
        id: /^id: (.*)$/m.exec(block)?.[1] ?? '',
        data: /^data: (.*)$/m.exec(block)?.[1] ?? '',
      };
    }
  }
}
