import { describe, expect, it } from 'vitest';
import { formatAddress, parseAddress } from './address.js';
import { TransportError } from './errors.js';

describe('parseAddress', () => {
  it.each([
    ['unix:/tmp/dm.sock', { kind: 'unix', path: '/tmp/dm.sock' }],
    ['unix:relative.sock', { kind: 'unix', path: 'relative.sock' }],
    ['ws://127.0.0.1:7000', { kind: 'ws', host: '127.0.0.1', port: 7000 }],
    ['ws://localhost:0/', { kind: 'ws', host: 'localhost', port: 0 }],
    ['ws://[::1]:65535', { kind: 'ws', host: '[::1]', port: 65535 }],
    ['ws://dm.example.org:80', { kind: 'ws', host: 'dm.example.org', port: 80 }],
  ])('%s', (text, parsed) => {
    expect(parseAddress(text)).toEqual(parsed);
  });

  it.each([
    '',
    '/tmp/dm.sock',
    'unix:',
    `unix:/${'x'.repeat(107)}`,
    'unix:/tmp/a\0b',
    'ws://host',
    'ws://host:',
    'ws://host:65536',
    'ws://:7000',
    'ws://host:7000/path',
    'ws://user@host:7000',
    'wss://host:7000',
    'http://host:7000',
    'tcp:host:7000',
    'spawn',
  ])('rejects %j with BAD_ADDRESS', (text) => {
    let caught: unknown;
    try {
      parseAddress(text);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(TransportError);
    expect((caught as TransportError).code).toBe('BAD_ADDRESS');
    expect((caught as TransportError).message).toMatch(/unix:PATH or ws:\/\/HOST:PORT/);
  });

  it('formats back to the canonical string', () => {
    expect(formatAddress(parseAddress('ws://[::1]:9/'))).toBe('ws://[::1]:9');
    expect(formatAddress(parseAddress('unix:/a/b'))).toBe('unix:/a/b');
  });
});
