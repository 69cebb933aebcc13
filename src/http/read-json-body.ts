import { DistilleryError, invalidRequest, payloadTooLarge } from '../core/errors.js';

// Reads a JSON request body with the size limit enforced while reading: a declared
// Content-Length over the limit is refused before any byte is read, and a chunked body is
// abandoned as soon as it passes the limit, so an oversized body is never buffered whole.

const MAX_DEPTH = 64;
// One decoder for every request (decode without `stream` keeps no state between calls).
const utf8 = new TextDecoder('utf-8', { fatal: true });

async function readStreamWithLimit(body: ReadableStream<Uint8Array>, maxBytes: number): Promise<Uint8Array> {
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw payloadTooLarge(maxBytes);
    }
    chunks.push(value);
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
}

export async function readJsonBody(request: Request, maxBytes: number): Promise<unknown> {
  const declared = request.headers.get('content-length');
  let bytes: Uint8Array;
  if (declared !== null && !request.headers.has('transfer-encoding')) {
    if (Number(declared) > maxBytes) throw payloadTooLarge(maxBytes);
    // The HTTP parser frames the body by Content-Length, so it cannot exceed the declared size;
    // arrayBuffer() is also the fast path of @hono/node-server (no Fetch Request materialised).
    bytes = new Uint8Array(await request.arrayBuffer());
  } else {
    if (!request.body) throw invalidRequest('The request body is empty; a JSON object is required.', null, 'invalid_json');
    bytes = await readStreamWithLimit(request.body, maxBytes);
  }

  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    throw invalidRequest('The request body is not valid UTF-8.', null, 'invalid_encoding');
  }
  if (text.trim() === '') throw invalidRequest('The request body is empty; a JSON object is required.', null, 'invalid_json');
  checkNesting(text);
  try {
    return JSON.parse(text);
  } catch (err) {
    throw invalidRequest(`The request body is not valid JSON: ${(err as Error).message}`, null, 'invalid_json');
  }
}

/** Refuses absurdly nested JSON before parsing, so validation never recurses thousands deep. */
function checkNesting(text: string): void {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92 /* \ */) i++;
      else if (c === 34 /* " */) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 || c === 91) {
      if (++depth > MAX_DEPTH) {
        throw new DistilleryError(`JSON nesting deeper than ${MAX_DEPTH} levels is not accepted.`, {
          status: 400,
          type: 'invalid_request_error',
          code: 'invalid_json',
        });
      }
    } else if (c === 125 || c === 93) depth--;
  }
}
