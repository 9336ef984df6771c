/* PIT channel 0 at 1 kHz (mode 2); counts ticks= (default 1000) IRQ0s, sleeping in HLT between. */
#include "rt.h"

#define BENCH_TIMER_HZ 1000
#define PIT_COUNT_1KHZ ((PIT_HZ + BENCH_TIMER_HZ / 2) / BENCH_TIMER_HZ)

static volatile u32 ticks;
static void tick(struct trap_frame *f) { (void)f; ticks++; pic_eoi(PIT_IRQ); }

int main(u32 magic, const struct multiboot_info *info)
{
    (void)magic;
    bench_begin(info);
    u32 n = cmdline_u32("ticks", 1000);
    u32 halts = 0;
    trap_set_handler(PIC_VECTOR_BASE + PIT_IRQ, tick);
    pit_periodic(PIT_COUNT_1KHZ);
    pic_unmask(PIT_IRQ);
    while (ticks < n) {
        __asm__ volatile("sti; hlt; cli" : : : "memory");
        halts++;
    }
    pic_mask(PIT_IRQ);
    char params[32], result[32];
    snprintf(params, sizeof(params), "ticks=%u", n);
    snprintf(result, sizeof(result), "halts=%u", halts);
    bench_end("bench-timer", params, result, 1);
}
