/* dev-pic-pit: the 8259A pair and the 8254 as a guest sees them (facts.md 5.2, 5.3): IMR read-back,
 * IRR/ISR through OCW3 around an interrupt (IRR latches a masked request; ISR is set while the
 * handler runs and cleared by EOI), the PIT read-back status byte, a latched count that moves
 * down, channel 2's output on port 0x61, a periodic IRQ0 waking HLT a counted number of times,
 * and the RTC periodic interrupt through the slave PIC (IRQ8, cascade on IRQ2). */
#include "rt.h"

#define OCW3_READ_IRR 0x0a
#define OCW3_READ_ISR 0x0b
#define PIT_CH2 0x42
#define PIT_READBACK_STATUS_CH0 0xe2    /* read-back, latch status only (bit 5 = 1: no count), ch0 */
#define PIT_CH2_MODE0_LOHI 0xb0
#define PORT_61 0x61
#define P61_GATE2 0x01
#define P61_SPEAKER 0x02
#define P61_OUT2 0x20
#define CMOS_INDEX 0x70
#define CMOS_DATA 0x71
#define CMOS_NMI_OFF 0x80
#define RTC_REG_A 0x0a
#define RTC_REG_B 0x0b
#define RTC_REG_C 0x0c
#define RTC_RATE_1024HZ 0x06
#define RTC_REG_A_DIVIDER_32K 0x20
#define RTC_REG_B_PIE 0x40
#define RTC_IRQ 8
#define CASCADE_IRQ 2

static u8 read_irr(void) { outb(PIC1_CMD, OCW3_READ_IRR); return inb(PIC1_CMD); }
static u8 read_isr(void) { outb(PIC1_CMD, OCW3_READ_ISR); return inb(PIC1_CMD); }

static volatile u32 irq0_count;
static volatile u8 isr_in_handler, isr_after_eoi;

static void irq0_probe(struct trap_frame *f)
{
    (void)f;
    isr_in_handler = read_isr();
    pic_eoi(PIT_IRQ);
    isr_after_eoi = read_isr();
    irq0_count++;
}

static u8 cmos_read(u8 reg) { outb(CMOS_INDEX, CMOS_NMI_OFF | reg); return inb(CMOS_DATA); }
static void cmos_write(u8 reg, u8 v) { outb(CMOS_INDEX, CMOS_NMI_OFF | reg); outb(CMOS_DATA, v); }

static volatile u32 rtc_count;
static void rtc_irq(struct trap_frame *f)
{
    (void)f;
    (void)cmos_read(RTC_REG_C);      /* acknowledges the RTC interrupt */
    rtc_count++;
    pic_eoi(RTC_IRQ);
}

static void test_pic(void)
{
    test_begin("pic-imr-readback");
    pic_remap();
    EXPECT_EQ(inb(PIC1_DATA), 0xff);
    EXPECT_EQ(inb(PIC2_DATA), 0xff);
    outb(PIC1_DATA, 0xa5);
    EXPECT_EQ(inb(PIC1_DATA), 0xa5);
    outb(PIC1_DATA, 0xff);
    outb(PIC2_DATA, 0x3c);
    EXPECT_EQ(inb(PIC2_DATA), 0x3c);
    outb(PIC2_DATA, 0xff);
    test_end();

    test_begin("pic-irr-isr-eoi");
    /* A masked IRQ0 still latches in IRR. */
    pit_oneshot(100);
    int spins = 0;
    while (!(read_irr() & 1) && spins < 1000000)
        spins++;
    EXPECT_EQ(read_irr() & 1, 1);
    EXPECT_EQ(read_isr(), 0);
    trap_set_handler(PIC_VECTOR_BASE + PIT_IRQ, irq0_probe);
    irq0_count = 0;
    pic_unmask(PIT_IRQ);
    sti();
    __asm__ volatile("nop");
    cli();
    EXPECT_EQ(irq0_count, 1);
    EXPECT_EQ(isr_in_handler, 1);
    EXPECT_EQ(isr_after_eoi, 0);
    EXPECT_EQ(read_irr() & 1, 0);   /* edge triggered: acknowledged, and mode 0 stays high */
    pic_mask(PIT_IRQ);
    trap_set_handler(PIC_VECTOR_BASE + PIT_IRQ, NULL);
    test_end();
}

static void test_pit(void)
{
    test_begin("pit-readback-status");
    pit_periodic(0x8000);
    outb(PIT_CMD, PIT_READBACK_STATUS_CH0);
    u8 status = inb(PIT_CH0);
    EXPECT_EQ(status & 0x3f, 0x34);   /* access LSB/MSB (3), mode 2, binary; OUT and null count vary */
    test_end();

    test_begin("pit-count-moves-down");
    pit_periodic(0xffff);
    u16 a = pit_read_count();
    u16 b = a;
    /* Poll until the count changes: the first change seen is a small step down from a count
     * just loaded, never a wrap (that takes 55 ms), however fast or slow the CPU is. */
    for (int spins = 0; b == a && spins < 1000000; spins++)
        b = pit_read_count();
    EXPECT(a != b);
    EXPECT(b < a);
    test_end();

    test_begin("pit-channel2-out-on-port61");
    outb(PORT_61, (u8)((inb(PORT_61) & ~P61_SPEAKER) | P61_GATE2));
    outb(PIT_CMD, PIT_CH2_MODE0_LOHI);
    outb(PIT_CH2, 0x00);
    outb(PIT_CH2, 0x80);              /* 0x8000 clocks, 27 ms: the first read comes well before */
    u8 first = inb(PORT_61) & P61_OUT2;
    int spins = 0;
    while (!(inb(PORT_61) & P61_OUT2) && spins < 10000000)
        spins++;
    EXPECT_EQ(first, 0);              /* mode 0: OUT low after the count is written */
    EXPECT_EQ(inb(PORT_61) & P61_OUT2, P61_OUT2);
    outb(PORT_61, inb(PORT_61) & (u8)~(P61_GATE2 | P61_SPEAKER));
    test_end();

    test_begin("pit-periodic-hlt-ticks");
    timer_start();
    u32 start = timer_ticks();
    for (int i = 0; i < 5; i++)
        __asm__ volatile("sti; hlt; cli" : : : "memory");
    u32 n = timer_ticks() - start;
    timer_stop();
    EXPECT_EQ(n, 5);                  /* only IRQ0 is unmasked: every HLT ends with one tick */
    test_end();
}

static void test_rtc_slave(void)
{
    test_begin("rtc-periodic-irq8-via-slave");
    trap_set_handler(PIC_VECTOR_BASE + RTC_IRQ, rtc_irq);
    rtc_count = 0;
    cmos_write(RTC_REG_A, RTC_REG_A_DIVIDER_32K | RTC_RATE_1024HZ);
    (void)cmos_read(RTC_REG_C);
    cmos_write(RTC_REG_B, (u8)(cmos_read(RTC_REG_B) | RTC_REG_B_PIE));
    pic_unmask(RTC_IRQ);
    pic_unmask(CASCADE_IRQ);
    timer_start();                    /* the timeout */
    EXPECT(timer_wait(&rtc_count, 3, 100));
    timer_stop();
    cmos_write(RTC_REG_B, (u8)(cmos_read(RTC_REG_B) & ~RTC_REG_B_PIE));
    (void)cmos_read(RTC_REG_C);
    pic_mask(RTC_IRQ);
    pic_mask(CASCADE_IRQ);
    trap_set_handler(PIC_VECTOR_BASE + RTC_IRQ, NULL);
    EXPECT(rtc_count >= 3);
    test_end();
}

int main(u32 magic, const struct multiboot_info *info)
{
    (void)magic; (void)info;
    rt_init();
    test_pic();
    test_pit();
    test_rtc_slave();
    test_finish();
}
