import { describe, expect, it } from 'vitest';
import { classifierRefusal, shapeClassifierAnswer, truncateToTokens } from '../../src/core/chat/classifier-options.js';
import { estimateTokenCount } from '../../src/core/chat/chat-token-count.js';

// The pure rules behind docs/api.md's table "What a classifier student does with each option".

const messages = [{ role: 'user' as const, content: 'x' }];
const shape = (label: string, r: object) => shapeClassifierAnswer(label, { messages, ...r }, { formatted: label, key: 'label', count: estimateTokenCount, toolCallId: 'call_1' });
const fn = (name: string, properties: object, required: string[] = []) => ({ type: 'function' as const, function: { name, parameters: { type: 'object', properties, required } } });

describe('classifier options', () => {
  it('truncates to the longest prefix within the token limit', () => {
    expect(truncateToTokens('abcdefghij', 2, estimateTokenCount)).toBe('abcdefgh');
    expect(truncateToTokens('abc', 5, estimateTokenCount)).toBe('abc');
    expect(truncateToTokens('abc', 0, estimateTokenCount)).toBe('');
  });

  it('fills the one field of a function, or the one named label among optional ones', () => {
    expect(shape('refund', { tools: [fn('f', { intent: {} })], tool_choice: 'required' }).toolCalls![0]!.function.arguments).toBe('{"intent":"refund"}');
    expect(shape('refund', { tools: [fn('f', { label: {}, note: {} })], tool_choice: 'required' }).toolCalls![0]!.function.arguments).toBe('{"label":"refund"}');
    expect(shape('refund', { tools: [fn('f', {})], tool_choice: 'required' }).toolCalls![0]!.function.arguments).toBe('{"label":"refund"}');
    expect(classifierRefusal({ messages, tools: [fn('f', { label: {}, note: {} }, ['label', 'note'])], tool_choice: 'required' })).toMatchObject({ param: 'tools' });
    expect(classifierRefusal({ messages, tools: [fn('f', { a: {}, b: {} })], tool_choice: { type: 'function', function: { name: 'f' } } })).toMatchObject({ param: 'tools' });
    expect(classifierRefusal({ messages, tool_choice: 'required' })).toMatchObject({ param: 'tool_choice' });
  });

  it('a forced tool call wins over response_format; stop applies to content only; n = 1 and empty logit_bias pass', () => {
    const r = shape('refund', { tools: [fn('f', { intent: {} })], tool_choice: 'required', response_format: { type: 'json_object' }, stop: 'u' });
    expect(r).toMatchObject({ text: '', finishReason: 'tool_calls' });
    expect(shape('refund', { stop: ['zz', 'fu'] })).toEqual({ text: 're', finishReason: 'stop' });
    expect(shape('refund', { max_tokens: 1 })).toEqual({ text: 'refu', finishReason: 'length' });
    expect(classifierRefusal({ messages, n: 1, logit_bias: {} })).toBeUndefined();
    expect(classifierRefusal({ messages, response_format: { type: 'json_schema', json_schema: { name: 's', schema: { type: 'array' } } } })).toMatchObject({ param: 'response_format' });
  });
});
