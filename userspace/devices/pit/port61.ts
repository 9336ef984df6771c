import type { BusDevice } from '../../bus/device.js';
import type { I8254 } from './i8254.js';

/** Port 0x61 bits (IBM PC/AT "system control port B"; QEMU hw/audio/pcspk.c). */
export const PORT61 = {
  GATE2: 0x01, // PIT counter 2 gate
  SPEAKER_DATA: 0x02, // speaker data enable (AND gate after counter 2's OUT)
  REFRESH: 0x10, // DRAM refresh toggle
  OUT2: 0x20, // PIT counter 2 OUT
} as const;

/**
 * Port 0x61 as a one-byte BusDevice over the PIT's counter 2. The refresh bit toggles on every
 * read, as QEMU's does, so guests that wait for it to flip always make progress whatever the clock.
 */
export class Port61 implements BusDevice {
  private refresh = false;

  constructor(private readonly pit: I8254) {}

  read(offset: number, size: number): number {
    if (offset !== 0) return 0xff;
    this.refresh = !this.refresh;
    const v =
      (this.pit.gate(2) ? PORT61.GATE2 : 0) |
      (this.pit.speakerData ? PORT61.SPEAKER_DATA : 0) |
      (this.refresh ? PORT61.REFRESH : 0) |
      (this.pit.output(2) ? PORT61.OUT2 : 0);
    // Bytes beyond the single register float high.
    return size === 1 ? v : (v | (size === 2 ? 0xff00 : 0xffffff00)) >>> 0;
  }

  write(offset: number, _size: number, value: number): void {
    if (offset !== 0) return;
    this.pit.speakerData = (value & PORT61.SPEAKER_DATA) !== 0;
    this.pit.setGate(2, (value & PORT61.GATE2) !== 0);
  }
}
