/* Control words: channel 0, access LSB then MSB, binary counting. */
#include "pit.h"
#include "io.h"

#define PIT_SEL_CH0 0x00
#define PIT_ACCESS_LOHI 0x30
#define PIT_ACCESS_LATCH 0x00
#define PIT_MODE0 0x00
#define PIT_MODE2 0x04

static void load(u8 mode, u16 count)
{
    outb(PIT_CMD, PIT_SEL_CH0 | PIT_ACCESS_LOHI | mode);
    outb(PIT_CH0, count & 0xFF);
    outb(PIT_CH0, count >> 8);
}

void pit_periodic(u16 count) { load(PIT_MODE2, count); }
void pit_oneshot(u16 count) { load(PIT_MODE0, count); }

u16 pit_read_count(void)
{
    outb(PIT_CMD, PIT_SEL_CH0 | PIT_ACCESS_LATCH);
    u8 lo = inb(PIT_CH0);
    u8 hi = inb(PIT_CH0);
    return (u16)(lo | (hi << 8));
}
