import { describe, expect, it } from 'vitest';
import { Pic8259Pair } from './pic8259.js';

/** The conventional hobby-kernel remap: ICW1 0x11, vectors 0x20/0x28, cascade on IR2, 8086 mode. */
function initPair(pic: Pic8259Pair, icw4 = 0x01, masterBase = 0x20, slaveBase = 0x28): void {
  pic.ioWrite(0x20, 1, 0x11);
  pic.ioWrite(0x21, 1, masterBase);
  pic.ioWrite(0x21, 1, 0x04);
  pic.ioWrite(0x21, 1, icw4);
  pic.ioWrite(0xa0, 1, 0x11);
  pic.ioWrite(0xa1, 1, slaveBase);
  pic.ioWrite(0xa1, 1, 0x02);
  pic.ioWrite(0xa1, 1, icw4);
  pic.ioWrite(0x21, 1, 0x00);
  pic.ioWrite(0xa1, 1, 0x00);
}

function pulse(pic: Pic8259Pair, irq: number): void {
  pic.setIrq(irq, true);
  pic.setIrq(irq, false);
}

const readIrr = (pic: Pic8259Pair, cmd: number): number => {
  pic.ioWrite(cmd, 1, 0x0a);
  return pic.ioRead(cmd, 1);
};
const readIsr = (pic: Pic8259Pair, cmd: number): number => {
  pic.ioWrite(cmd, 1, 0x0b);
  return pic.ioRead(cmd, 1);
};
const eoi = (pic: Pic8259Pair, cmd: number): void => pic.ioWrite(cmd, 1, 0x20);

describe('8259 pair: initialisation', () => {
  it('ICW1-4 set the vector bases; the data port then reads back the IMR', () => {
    const pic = new Pic8259Pair();
    initPair(pic, 0x01, 0x30, 0x38);
    pic.ioWrite(0x21, 1, 0xfa);
    pic.ioWrite(0xa1, 1, 0x7f);
    expect(pic.ioRead(0x21, 1)).toBe(0xfa);
    expect(pic.ioRead(0xa1, 1)).toBe(0x7f);
    pic.ioWrite(0x21, 1, 0x00);
    pic.ioWrite(0xa1, 1, 0x00);
    pulse(pic, 1);
    expect(pic.acknowledge()).toBe(0x31);
    pulse(pic, 12);
    eoi(pic, 0x20);
    expect(pic.acknowledge()).toBe(0x3c);
  });

  it('the low three bits of ICW2 are ignored', () => {
    const pic = new Pic8259Pair();
    initPair(pic, 0x01, 0x27, 0x2f);
    pulse(pic, 0);
    expect(pic.acknowledge()).toBe(0x20);
  });

  it('single mode skips ICW3; without IC4 there is no ICW4', () => {
    const pic = new Pic8259Pair();
    pic.ioWrite(0x20, 1, 0x12); // SNGL, no IC4
    pic.ioWrite(0x21, 1, 0x40);
    pic.ioWrite(0x21, 1, 0xfe); // this is already OCW1
    expect(pic.ioRead(0x21, 1)).toBe(0xfe);
    pulse(pic, 0);
    expect(pic.acknowledge()).toBe(0x40);
  });

  it('ICW1 clears IMR, ISR and pending edge requests', () => {
    const pic = new Pic8259Pair();
    initPair(pic);
    pulse(pic, 3);
    pic.acknowledge();
    pulse(pic, 4);
    pic.ioWrite(0x21, 1, 0xff);
    pic.ioWrite(0x20, 1, 0x11);
    expect(pic.ioRead(0x21, 1)).toBe(0);
    expect(readIsr(pic, 0x20)).toBe(0);
    expect(readIrr(pic, 0x20)).toBe(0);
  });

  it('the one- and two-argument access forms are the byte forms', () => {
    const pic = new Pic8259Pair();
    initPair(pic);
    pic.ioWrite(0x21, 0x5a);
    expect(pic.ioRead(0x21)).toBe(0x5a);
    pic.ioWrite(0x4d0, 2, 0xfefe);
    expect(pic.ioRead(0x4d0, 2)).toBe(0xdef8);
  });
});

describe('8259 pair: masking and priorities', () => {
  it('masked lines do not raise INT but stay in IRR', () => {
    const pic = new Pic8259Pair();
    initPair(pic);
    pic.ioWrite(0x21, 1, 0x02);
    pulse(pic, 1);
    expect(pic.hasInterrupt()).toBe(false);
    expect(readIrr(pic, 0x20)).toBe(0x02);
    pic.ioWrite(0x21, 1, 0x00);
    expect(pic.hasInterrupt()).toBe(true);
    expect(pic.acknowledge()).toBe(0x21);
  });

  it('lower IR numbers win; an in-service level blocks equal and lower ones until EOI', () => {
    const pic = new Pic8259Pair();
    initPair(pic);
    pulse(pic, 5);
    pulse(pic, 3);
    expect(pic.acknowledge()).toBe(0x23);
    expect(pic.hasInterrupt()).toBe(false); // 5 is lower priority than in-service 3
    pulse(pic, 1);
    expect(pic.hasInterrupt()).toBe(true); // 1 preempts 3
    expect(pic.acknowledge()).toBe(0x21);
    expect(readIsr(pic, 0x20)).toBe(0x0a);
    eoi(pic, 0x20); // non-specific: clears the highest (1)
    expect(readIsr(pic, 0x20)).toBe(0x08);
    expect(pic.hasInterrupt()).toBe(false);
    eoi(pic, 0x20);
    expect(pic.acknowledge()).toBe(0x25);
  });

  it('specific EOI clears the named level only', () => {
    const pic = new Pic8259Pair();
    initPair(pic);
    pulse(pic, 4);
    pic.acknowledge();
    pulse(pic, 0);
    pic.acknowledge();
    pic.ioWrite(0x20, 1, 0x64); // specific EOI for 4
    expect(readIsr(pic, 0x20)).toBe(0x01);
  });

  it('rotate on non-specific EOI makes the serviced level the lowest', () => {
    const pic = new Pic8259Pair();
    initPair(pic);
    pulse(pic, 2 + 1); // IR3
    expect(pic.acknowledge()).toBe(0x23);
    pic.ioWrite(0x20, 1, 0xa0); // rotate on non-specific EOI
    pulse(pic, 3);
    pulse(pic, 6);
    // Priorities now run 4,5,6,7,0,1,2,3: IR6 beats IR3.
    expect(pic.acknowledge()).toBe(0x26);
  });

  it('set-priority (OCW2 0xC0|L) and rotate on specific EOI', () => {
    const pic = new Pic8259Pair();
    initPair(pic);
    pic.ioWrite(0x20, 1, 0xc4); // IR4 lowest, IR5 highest
    pulse(pic, 0);
    pulse(pic, 5);
    expect(pic.acknowledge()).toBe(0x25);
    pic.ioWrite(0x20, 1, 0xe5); // rotate on specific EOI 5: IR6 highest
    pulse(pic, 6);
    expect(pic.acknowledge()).toBe(0x26);
  });

  it('special mask mode lets lower levels through while a masked level is in service', () => {
    const pic = new Pic8259Pair();
    initPair(pic);
    pulse(pic, 3);
    expect(pic.acknowledge()).toBe(0x23);
    pulse(pic, 6);
    expect(pic.hasInterrupt()).toBe(false);
    pic.ioWrite(0x21, 1, 0x08); // mask the in-service level
    pic.ioWrite(0x20, 1, 0x68); // OCW3: set special mask mode
    expect(pic.hasInterrupt()).toBe(true);
    expect(pic.acknowledge()).toBe(0x26);
    pic.ioWrite(0x20, 1, 0x48); // reset special mask mode
    pic.ioWrite(0x20, 1, 0x66);
    pulse(pic, 7);
    expect(pic.hasInterrupt()).toBe(false);
  });
});

describe('8259 pair: EOI modes', () => {
  it('auto-EOI leaves ISR clear after INTA', () => {
    const pic = new Pic8259Pair();
    initPair(pic, 0x03);
    pulse(pic, 4);
    expect(pic.acknowledge()).toBe(0x24);
    expect(readIsr(pic, 0x20)).toBe(0);
    pulse(pic, 5);
    expect(pic.acknowledge()).toBe(0x25); // not blocked by 4
  });

  it('rotate in auto-EOI mode', () => {
    const pic = new Pic8259Pair();
    initPair(pic, 0x03);
    pic.ioWrite(0x20, 1, 0x80); // set rotate in AEOI
    pulse(pic, 1);
    pic.acknowledge();
    pulse(pic, 0);
    pulse(pic, 2 + 3); // IR5
    expect(pic.acknowledge()).toBe(0x25); // IR1 is now lowest; 2..7 outrank 0
  });
});

describe('8259 pair: cascade', () => {
  it('slave IRQs arrive through master IR2 and need EOI on both chips', () => {
    const pic = new Pic8259Pair();
    initPair(pic);
    pulse(pic, 10);
    expect(pic.hasInterrupt()).toBe(true);
    expect(pic.acknowledge()).toBe(0x2a);
    expect(readIsr(pic, 0x20)).toBe(0x04);
    expect(readIsr(pic, 0xa0)).toBe(0x04);
    pulse(pic, 9);
    expect(pic.hasInterrupt()).toBe(false); // master IR2 in service
    eoi(pic, 0xa0);
    expect(pic.hasInterrupt()).toBe(false);
    eoi(pic, 0x20);
    expect(pic.hasInterrupt()).toBe(true);
    expect(pic.acknowledge()).toBe(0x29);
  });

  it('auto-EOI on both chips delivers back-to-back slave interrupts', () => {
    const pic = new Pic8259Pair();
    initPair(pic, 0x03);
    pulse(pic, 9);
    pulse(pic, 10);
    expect(pic.acknowledge()).toBe(0x29);
    expect(pic.hasInterrupt()).toBe(true);
    expect(pic.acknowledge()).toBe(0x2a);
    expect(pic.hasInterrupt()).toBe(false);
  });

  it('slave priority sits between master IR1 and IR3', () => {
    const pic = new Pic8259Pair();
    initPair(pic);
    pulse(pic, 3);
    pulse(pic, 15);
    expect(pic.acknowledge()).toBe(0x2f);
    pulse(pic, 1);
    expect(pic.acknowledge()).toBe(0x21);
  });

  it('masking IR2 on the master hides all slave requests', () => {
    const pic = new Pic8259Pair();
    initPair(pic);
    pic.ioWrite(0x21, 1, 0x04);
    pulse(pic, 14);
    expect(pic.hasInterrupt()).toBe(false);
    expect(readIrr(pic, 0xa0)).toBe(0x40);
  });

  it('special fully nested mode lets a higher slave level preempt an in-service slave level', () => {
    const plain = new Pic8259Pair();
    initPair(plain);
    const sfnm = new Pic8259Pair();
    initPair(sfnm, 0x11);
    for (const pic of [plain, sfnm]) {
      pulse(pic, 12);
      expect(pic.acknowledge()).toBe(0x2c);
      pulse(pic, 9);
    }
    expect(plain.hasInterrupt()).toBe(false);
    expect(sfnm.hasInterrupt()).toBe(true);
  });
});

describe('8259 pair: triggering', () => {
  it('edge: IRR latches on the rising edge only; holding the line does not re-request', () => {
    const pic = new Pic8259Pair();
    initPair(pic);
    pic.setIrq(4, true);
    expect(pic.acknowledge()).toBe(0x24);
    eoi(pic, 0x20);
    pic.setIrq(4, true);
    expect(pic.hasInterrupt()).toBe(false);
    pic.setIrq(4, false);
    pic.setIrq(4, true);
    expect(pic.hasInterrupt()).toBe(true);
  });

  it('level (ELCR): IRR follows the line; still asserted after EOI means another interrupt', () => {
    const pic = new Pic8259Pair();
    initPair(pic);
    pic.ioWrite(0x4d1, 1, 0x08); // IRQ11 level-triggered
    expect(pic.ioRead(0x4d1, 1)).toBe(0x08);
    pic.setIrq(11, true);
    expect(pic.acknowledge()).toBe(0x2b);
    eoi(pic, 0xa0);
    eoi(pic, 0x20);
    expect(pic.hasInterrupt()).toBe(true);
    expect(pic.acknowledge()).toBe(0x2b);
    pic.setIrq(11, false);
    eoi(pic, 0xa0);
    eoi(pic, 0x20);
    expect(pic.hasInterrupt()).toBe(false);
    expect(readIrr(pic, 0xa0)).toBe(0);
  });

  it('ELCR bits for IRQ 0, 1, 2, 8 and 13 are not writable', () => {
    const pic = new Pic8259Pair();
    pic.ioWrite(0x4d0, 1, 0xff);
    pic.ioWrite(0x4d1, 1, 0xff);
    expect(pic.ioRead(0x4d0, 1)).toBe(0xf8);
    expect(pic.ioRead(0x4d1, 1)).toBe(0xde);
  });

  it('LTIM in ICW1 makes every input level-triggered', () => {
    const pic = new Pic8259Pair();
    pic.ioWrite(0x20, 1, 0x1b); // ICW1 LTIM|SNGL|IC4
    pic.ioWrite(0x21, 1, 0x20);
    pic.ioWrite(0x21, 1, 0x01);
    pic.setIrq(5, true);
    pic.setIrq(5, false);
    expect(pic.hasInterrupt()).toBe(false);
  });
});

describe('8259 pair: spurious and poll', () => {
  it('a request that goes away before INTA gives spurious IR7 (master) with ISR untouched', () => {
    const pic = new Pic8259Pair();
    initPair(pic);
    pic.ioWrite(0x4d0, 1, 0x20); // IRQ5 level
    pic.setIrq(5, true);
    expect(pic.hasInterrupt()).toBe(true);
    pic.setIrq(5, false);
    expect(pic.acknowledge()).toBe(0x27);
    expect(readIsr(pic, 0x20)).toBe(0);
    expect(pic.stats.spurious).toBe(1);
  });

  it('a slave request withdrawn after the cascade latched gives spurious IR15', () => {
    const pic = new Pic8259Pair();
    initPair(pic);
    pic.ioWrite(0x4d1, 1, 0x02); // IRQ9 level
    pic.setIrq(9, true);
    pic.setIrq(9, false); // master IR2 stays latched (edge)
    expect(pic.acknowledge()).toBe(0x2f);
    expect(readIsr(pic, 0xa0)).toBe(0);
    expect(readIsr(pic, 0x20)).toBe(0x04);
  });

  it('poll mode: the read acknowledges and returns 0x80|level, or 0 when idle', () => {
    const pic = new Pic8259Pair();
    initPair(pic);
    pulse(pic, 6);
    pic.ioWrite(0x20, 1, 0x0c);
    expect(pic.ioRead(0x20, 1)).toBe(0x86);
    expect(readIsr(pic, 0x20)).toBe(0x40);
    expect(readIrr(pic, 0x20) & 0x40).toBe(0);
    eoi(pic, 0x20);
    pic.ioWrite(0x20, 1, 0x0c);
    expect(pic.ioRead(0x21, 1)).toBe(0x00);
    // The poll flag is one-shot: the next data read is the IMR again.
    pic.ioWrite(0x21, 1, 0x11);
    expect(pic.ioRead(0x21, 1)).toBe(0x11);
  });

  it('polling the slave drops the master cascade request', () => {
    const pic = new Pic8259Pair();
    initPair(pic);
    pulse(pic, 13);
    expect(pic.hasInterrupt()).toBe(true);
    pic.ioWrite(0xa0, 1, 0x0c);
    expect(pic.ioRead(0xa0, 1)).toBe(0x85);
    expect(pic.hasInterrupt()).toBe(false);
  });
});

describe('8259 pair: output callback and snapshot', () => {
  it('reports INT edges and restores a snapshot exactly', () => {
    const levels: boolean[] = [];
    const pic = new Pic8259Pair({ onOutputChange: (l) => levels.push(l) });
    initPair(pic);
    pulse(pic, 3);
    pulse(pic, 11);
    expect(levels).toEqual([true]);
    const snap = pic.snapshot();
    expect(JSON.parse(JSON.stringify(snap))).toEqual(snap);
    expect(pic.acknowledge()).toBe(0x2b);
    expect(levels).toEqual([true, false]);

    const copy = new Pic8259Pair();
    copy.restore(snap);
    expect(copy.hasInterrupt()).toBe(true);
    expect(copy.acknowledge()).toBe(0x2b);
    eoi(copy, 0xa0);
    eoi(copy, 0x20);
    expect(copy.acknowledge()).toBe(0x23);
  });

  it('rejects an IRQ number outside 0-15 as a bug', () => {
    const pic = new Pic8259Pair();
    expect(() => pic.setIrq(16, true)).toThrow(/assertion/);
  });
});
