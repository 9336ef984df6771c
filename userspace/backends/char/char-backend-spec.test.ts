import { describe, expect, it } from 'vitest';
import { CharBackendError } from './char-backend-error.js';
import { parseCharBackendSpec } from './char-backend-spec.js';
import { createCharBackend } from './create-char-backend.js';
import { NullCharBackend } from './null-char-backend.js';

describe('parseCharBackendSpec', () => {
  it.each([
    ['stdio', { kind: 'stdio' }],
    ['null', { kind: 'null' }],
    ['file:/tmp/serial.log', { kind: 'file', path: '/tmp/serial.log' }],
    ['file:with:colons', { kind: 'file', path: 'with:colons' }],
    ['unix:/run/com1.sock', { kind: 'unix', path: '/run/com1.sock', server: false }],
    ['unix:/run/com1.sock,server', { kind: 'unix', path: '/run/com1.sock', server: true }],
    ['ws:8080', { kind: 'ws', port: 8080 }],
    ['ws:0', { kind: 'ws', port: 0 }],
  ])('parses %s', (spec, expected) => {
    expect(parseCharBackendSpec(spec)).toEqual(expected);
  });

  it.each([
    ['', /empty spec/],
    ['tcp:1234', /unknown kind 'tcp'/],
    ['stdio:x', /stdio takes no argument/],
    ['file:', /file needs a path/],
    ['file', /file needs a path/],
    ['unix:', /unix needs a socket path/],
    ['unix:,server', /unix needs a socket path/],
    ['unix:/x,nowait', /unknown unix option 'nowait'/],
    ['ws:', /ws needs a port/],
    ['ws:http', /ws needs a port/],
    ['ws:70000', /out of range/],
  ])('rejects %j with a one-line BAD_BACKEND error', (spec, why) => {
    let error: unknown;
    try {
      parseCharBackendSpec(spec);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(CharBackendError);
    const e = error as CharBackendError;
    expect(e.code).toBe('BAD_BACKEND');
    expect(e.message).toMatch(why);
    expect(e.message).not.toContain('\n');
  });

  it('creates backends from specs and rejects bad ones asynchronously', async () => {
    const backend = await createCharBackend('null');
    expect(backend).toBeInstanceOf(NullCharBackend);
    backend.write(Uint8Array.of(1, 2, 3));
    await backend.close();
    await expect(createCharBackend('bogus')).rejects.toMatchObject({ code: 'BAD_BACKEND' });
  });
});
