// The `data:` payloads of a server-sent-event stream (the chat-completions stream format), read
// from a Node byte stream: what the openai SDK's Stream does, without web streams. Multi-line data
// fields are joined with "\n"; comments, `event:`/`id:`/`retry:` fields are skipped; the stream ends
// at `data: [DONE]` or at the end of the body.

export async function* sseData(body: AsyncIterable<Buffer | string>, onBytes: () => void): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let pending = '';
  let data: string[] = [];
  for await (const chunk of body) {
    onBytes();
    pending += typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
    let start = 0;
    for (let nl = pending.indexOf('\n', start); nl >= 0; nl = pending.indexOf('\n', start)) {
      const line = pending.charCodeAt(nl - 1) === 13 ? pending.slice(start, nl - 1) : pending.slice(start, nl);
      start = nl + 1;
      if (line === '') {
        if (data.length) {
          const payload = data.length === 1 ? data[0]! : data.join('\n');
          data = [];
          if (payload === '[DONE]') return;
          yield payload;
        }
      } else if (line.startsWith('data:')) {
        data.push(line.charCodeAt(5) === 32 ? line.slice(6) : line.slice(5));
      }
    }
    pending = pending.slice(start);
  }
  // A last event without its blank line still counts (the SDK flushes it too).
  if (pending.startsWith('data:')) data.push(pending.charCodeAt(5) === 32 ? pending.slice(6) : pending.slice(5));
  if (data.length && data.join('\n') !== '[DONE]') yield data.join('\n');
}
