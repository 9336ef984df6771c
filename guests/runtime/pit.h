/* 8254 PIT channel 0 helpers (Intel 8254 data sheet; facts.md 5.2). */
#ifndef RT_PIT_H
#define RT_PIT_H
#include "types.h"
#define PIT_CH0 0x40
#define PIT_CMD 0x43
#define PIT_HZ 1193182
#define PIT_IRQ 0
/* Channel 0 as a rate generator (mode 2): an IRQ0 every count input clocks. */
void pit_periodic(u16 count);
/* Channel 0 interrupt on terminal count (mode 0): one IRQ0 edge after count clocks. */
void pit_oneshot(u16 count);
/* Latches and reads channel 0's current count. */
u16 pit_read_count(void);
#endif
