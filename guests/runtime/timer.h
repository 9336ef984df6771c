/* A PIT-driven tick (IRQ0 through the remapped PIC) and bounded waits that sleep with HLT, so a
 * guest waits for an interrupt without depending on how fast the CPU spins. Call pic_remap()
 * first. */
#ifndef RT_TIMER_H
#define RT_TIMER_H
#include "types.h"

#define TIMER_HZ 100
/* PIT input clocks per tick at TIMER_HZ (1193182 / 100, rounded). */
#define TIMER_PIT_COUNT 11932

/* Starts channel 0 in mode 2 at TIMER_HZ, installs the IRQ0 handler and unmasks IRQ0. */
void timer_start(void);
/* Masks IRQ0 and removes the handler. */
void timer_stop(void);
/* Ticks since timer_start(). */
u32 timer_ticks(void);
/* Sleeps (STI; HLT) until *counter >= target or timeout_ticks ticks passed; returns to IF=0.
 * Returns 1 if the counter reached the target. */
int timer_wait(volatile u32 *counter, u32 target, u32 timeout_ticks);
#endif
