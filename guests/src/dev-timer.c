/* Timer interrupts counted with HLT: the 8254 channel 0 at 100 Hz (mode 2) for ticks= ticks
 * (default 20), latched channel 0 counts read right after a tick, and the MC146818 periodic
 * interrupt at 1024 Hz on IRQ8 counted over 10 PIT ticks. By default only checks are printed, so
 * the transcript is the same on any correct machine; with raw=1 the guest also prints the counts
 * and latch values, which are deterministic under tskvm --clock virtual. */
#include "rt.h"

#define CMOS_INDEX 0x70
#define CMOS_DATA 0x71
#define CMOS_NMI_DISABLE 0x80
#define RTC_REG_A 0x0A
#define RTC_REG_B 0x0B
#define RTC_REG_C 0x0C
#define RTC_REG_A_DIVIDER_32K 0x20
#define RTC_RATE_1024HZ 0x06
#define RTC_REG_B_PIE 0x40
#define RTC_IRQ 8
#define RTC_HZ 1024
#define DEFAULT_TICKS 20
#define LATCHES 5
#define RTC_WINDOW_TICKS 10
/* 10 ticks of 10 ms hold 102.4 RTC periods; allow for the partial first and last period and for
 * a host that delivers timer interrupts late (QEMU TCG on a busy 2-core machine counted 71). */
#define RTC_MIN (RTC_WINDOW_TICKS * RTC_HZ / TIMER_HZ / 2)
#define RTC_MAX (RTC_WINDOW_TICKS * RTC_HZ / TIMER_HZ * 12 / 10)

static volatile u32 rtc_irqs;
static volatile u32 wakeups;

static u8 cmos_read(u8 reg)
{
    outb(CMOS_INDEX, CMOS_NMI_DISABLE | reg);
    return inb(CMOS_DATA);
}
static void cmos_write(u8 reg, u8 v)
{
    outb(CMOS_INDEX, CMOS_NMI_DISABLE | reg);
    outb(CMOS_DATA, v);
}

static void rtc_irq(struct trap_frame *f)
{
    (void)f;
    (void)cmos_read(RTC_REG_C);   /* acknowledges the periodic interrupt */
    rtc_irqs++;
    pic_eoi(RTC_IRQ);
}

/* Sleeps until the next interrupt of any source. */
static void hlt_once(void)
{
    __asm__ volatile("sti; hlt; cli" : : : "memory");
    wakeups++;
}

int main(u32 magic, const struct multiboot_info *info)
{
    (void)magic;
    rt_init();
    cmdline_init(info);
    u32 n = cmdline_u32("ticks", DEFAULT_TICKS);
    int raw = cmdline_u32("raw", 0) != 0;

    test_begin("pit-100hz-ticks-with-hlt");
    timer_start();
    wakeups = 0;
    while (timer_ticks() < n)
        hlt_once();
    u32 ticks = timer_ticks();
    /* IRQ0 is the only unmasked line: every wakeup is exactly one tick. */
    EXPECT_EQ(ticks, n);
    EXPECT_EQ(wakeups, n);
    test_end();
    if (raw) printf("pit ticks %u hlt wakeups %u\n", ticks, wakeups);

    test_begin("pit-latch-after-tick");
    u16 latch[LATCHES];
    for (u32 i = 0; i < LATCHES; i++) {
        u32 t = timer_ticks();
        while (timer_ticks() == t)
            hlt_once();
        latch[i] = pit_read_count();
    }
    for (u32 i = 0; i < LATCHES; i++)
        if (latch[i] == 0 || latch[i] > TIMER_PIT_COUNT)
            test_failf("latch %u = %u, outside 1..%u", i, latch[i], TIMER_PIT_COUNT);
    test_end();
    if (raw) {
        printf("pit latch");
        for (u32 i = 0; i < LATCHES; i++) printf(" %u", latch[i]);
        printf("\n");
    }

    test_begin("rtc-1024hz-irq8");
    trap_set_handler(PIC_VECTOR_BASE + RTC_IRQ, rtc_irq);
    cmos_write(RTC_REG_A, RTC_REG_A_DIVIDER_32K | RTC_RATE_1024HZ);
    (void)cmos_read(RTC_REG_C);
    cmos_write(RTC_REG_B, (u8)(cmos_read(RTC_REG_B) | RTC_REG_B_PIE));
    u32 t0 = timer_ticks();
    while (timer_ticks() == t0)
        hlt_once();                 /* start the window on a tick edge */
    rtc_irqs = 0;
    pic_unmask(RTC_IRQ);
    u32 start = timer_ticks();
    while (timer_ticks() - start < RTC_WINDOW_TICKS)
        hlt_once();
    pic_mask(RTC_IRQ);
    u32 counted = rtc_irqs;
    cmos_write(RTC_REG_B, (u8)(cmos_read(RTC_REG_B) & ~RTC_REG_B_PIE));
    (void)cmos_read(RTC_REG_C);
    trap_set_handler(PIC_VECTOR_BASE + RTC_IRQ, NULL);
    if (counted < RTC_MIN || counted > RTC_MAX)
        test_failf("%u RTC interrupts in %u PIT ticks, want %u..%u", counted, RTC_WINDOW_TICKS, RTC_MIN, RTC_MAX);
    test_end();
    if (raw) printf("rtc irqs %u in %u pit ticks\n", counted, RTC_WINDOW_TICKS);

    timer_stop();
    test_finish();
}
