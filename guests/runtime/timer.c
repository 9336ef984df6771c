/* IRQ0 tick counter and HLT-based waits. */
#include "timer.h"
#include "cpu.h"
#include "pic.h"
#include "pit.h"
#include "trap.h"

static volatile u32 ticks;

static void tick(struct trap_frame *f)
{
    (void)f;
    ticks++;
    pic_eoi(PIT_IRQ);
}

void timer_start(void)
{
    ticks = 0;
    trap_set_handler(PIC_VECTOR_BASE + PIT_IRQ, tick);
    pit_periodic(TIMER_PIT_COUNT);
    pic_unmask(PIT_IRQ);
}

void timer_stop(void)
{
    pic_mask(PIT_IRQ);
    trap_set_handler(PIC_VECTOR_BASE + PIT_IRQ, NULL);
}

u32 timer_ticks(void)
{
    return ticks;
}

int timer_wait(volatile u32 *counter, u32 target, u32 timeout_ticks)
{
    u32 start = ticks;
    for (;;) {
        cli();
        if (*counter >= target)
            return 1;
        if (ticks - start >= timeout_ticks)
            return 0;
        /* STI's shadow covers HLT: an interrupt pending now wakes the HLT instead of being
         * taken before it and leaving us asleep. */
        __asm__ volatile("sti; hlt; cli" : : : "memory");
    }
}
