import { describe, expect, it } from 'vitest';
import { ProtocolError } from './errors.js';
import { answerHello, checkHelloReply, helloMessage } from './handshake.js';
import { PROTOCOL_VERSION, type HelloReply, type HelloRequest } from './messages.js';

const acceptor = { features: ['doorbell', 'string-pio', 'x-dm-only'], name: 'dm' };

function hello(over: Partial<HelloRequest> = {}): HelloRequest {
  return { ...helloMessage(['virtual-clock', 'string-pio', 'doorbell']), id: 1, ...over };
}

function codeOf(f: () => unknown): string {
  try {
    f();
    return 'ok';
  } catch (e) {
    expect(e).toBeInstanceOf(ProtocolError);
    return (e as ProtocolError).code;
  }
}

describe('handshake', () => {
  it('builds hello with the protocol name, this version and de-duplicated features', () => {
    expect(helloMessage(['a', 'b', 'a'], 'qtest')).toEqual({ type: 'hello', protocol: 'tskvm-dm', version: PROTOCOL_VERSION, features: ['a', 'b'], role: 'qtest' });
  });

  it('answers with the intersection, in the order offered', () => {
    expect(answerHello(hello(), acceptor)).toEqual({ type: 'helloReply', protocol: 'tskvm-dm', version: PROTOCOL_VERSION, features: ['string-pio', 'doorbell'], name: 'dm' });
  });

  it('refuses another version or protocol with VERSION', () => {
    expect(codeOf(() => answerHello(hello({ version: PROTOCOL_VERSION + 1 }), acceptor))).toBe('VERSION');
    expect(codeOf(() => answerHello(hello({ version: 0 }), acceptor))).toBe('VERSION');
    expect(codeOf(() => answerHello(hello({ protocol: 'vfio-user' }), acceptor))).toBe('VERSION');
  });

  it('the VMM accepts a subset and refuses anything else', () => {
    const reply: HelloReply = { type: 'helloReply', reply: 1, protocol: 'tskvm-dm', version: PROTOCOL_VERSION, features: ['doorbell'], name: 'dm' };
    expect(codeOf(() => checkHelloReply(reply, ['doorbell', 'coalesced']))).toBe('ok');
    expect(codeOf(() => checkHelloReply({ ...reply, features: ['coalesced'] }, ['doorbell']))).toBe('VERSION');
    expect(codeOf(() => checkHelloReply({ ...reply, version: PROTOCOL_VERSION + 1 }, ['doorbell']))).toBe('VERSION');
    expect(codeOf(() => checkHelloReply({ ...reply, protocol: 'other' }, ['doorbell']))).toBe('VERSION');
  });
});
