/* dev-uart: the 16550A on COM1 register by register (PC16550D data sheet; facts.md 5.1): divisor
 * latch, LCR/IER/SCR read-back, IIR with FIFOs on, LSR after init, loopback mode (MSR mirrors MCR,
 * transmitted bytes come back through the receive FIFO in order), the THR-empty interrupt
 * identification and its clearing by an IIR read, and IRQ4 delivery through the PIC for received
 * data. While in loopback nothing reaches the outside, so results are collected first and
 * reported after the UART is restored. */
#include "rt.h"

enum {
    UART_RBR = 0, UART_THR = 0, UART_DLL = 0, UART_IER = 1, UART_DLM = 1, UART_IIR = 2, UART_FCR = 2,
    UART_LCR = 3, UART_MCR = 4, UART_LSR = 5, UART_MSR = 6, UART_SCR = 7,
};
#define LCR_DLAB 0x80
#define LCR_8N1 0x03
#define MCR_DTR 0x01
#define MCR_RTS 0x02
#define MCR_OUT1 0x04
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10
#define LSR_DR 0x01
#define LSR_THRE 0x20
#define LSR_TEMT 0x40
#define IER_RDA 0x01
#define IER_THRE 0x02
#define IIR_NO_INT 0x01
#define IIR_ID_MASK 0x0e
#define IIR_THRE 0x02
#define IIR_RDA 0x04
#define IIR_CTI 0x0c    /* character timeout: data waited 4 character times (FIFO mode) */
#define IIR_FIFO_ON 0xc0
#define MSR_CTS 0x10
#define MSR_DSR 0x20
#define MSR_RI 0x40
#define MSR_DCD 0x80
#define COM1_IRQ 4

static u8 rd(u8 reg) { return inb(COM1_BASE + reg); }
static void wr(u8 reg, u8 v) { outb(COM1_BASE + reg, v); }

/* Results gathered in loopback mode, checked once output works again. */
struct loop_results {
    u8 msr_all, msr_dtr_out2, lsr_before, lsr_after_one, rbr_one, lsr_after_read;
    u8 fifo[8];
    u8 lsr_after_fifo;
    u8 iir_thre, iir_after_read, iir_rda, irq_rbr;
    u32 irqs;
};
static struct loop_results lr;
static volatile u32 irq_count;
static volatile u8 irq_iir, irq_byte;

static void com1_irq(struct trap_frame *f)
{
    (void)f;
    irq_count++;
    irq_iir = rd(UART_IIR);
    irq_byte = rd(UART_RBR);
    pic_eoi(COM1_IRQ);
}

static void loopback_phase(void)
{
    wr(UART_MCR, MCR_LOOP | MCR_DTR | MCR_RTS | MCR_OUT1 | MCR_OUT2);
    lr.msr_all = rd(UART_MSR) & 0xf0;
    wr(UART_MCR, MCR_LOOP | MCR_DTR | MCR_OUT2);
    lr.msr_dtr_out2 = rd(UART_MSR) & 0xf0;

    lr.lsr_before = rd(UART_LSR);
    wr(UART_THR, 'A');
    lr.lsr_after_one = rd(UART_LSR);
    lr.rbr_one = rd(UART_RBR);
    lr.lsr_after_read = rd(UART_LSR);

    for (u32 i = 0; i < sizeof(lr.fifo); i++)
        wr(UART_THR, (u8)('a' + i));
    for (u32 i = 0; i < sizeof(lr.fifo); i++)
        lr.fifo[i] = rd(UART_RBR);
    lr.lsr_after_fifo = rd(UART_LSR);

    /* THR empty interrupt: reported by IIR, cleared by reading IIR. */
    wr(UART_IER, IER_THRE);
    lr.iir_thre = rd(UART_IIR);
    lr.iir_after_read = rd(UART_IIR);
    wr(UART_IER, 0);

    /* Received data interrupt through the PIC. */
    pic_remap();
    trap_set_handler(PIC_VECTOR_BASE + COM1_IRQ, com1_irq);
    irq_count = 0;
    wr(UART_IER, IER_RDA);
    pic_unmask(COM1_IRQ);
    timer_start();                       /* a timeout in case IRQ4 never comes */
    wr(UART_THR, 'Z');
    timer_wait(&irq_count, 1, 50);
    timer_stop();
    lr.irqs = irq_count;
    lr.iir_rda = irq_iir;
    lr.irq_rbr = irq_byte;
    pic_mask(COM1_IRQ);
    wr(UART_IER, 0);
    trap_set_handler(PIC_VECTOR_BASE + COM1_IRQ, NULL);
    wr(UART_MCR, MCR_DTR | MCR_RTS | MCR_OUT2);
}

int main(u32 magic, const struct multiboot_info *info)
{
    (void)magic; (void)info;
    rt_init();

    test_begin("divisor-latch");
    wr(UART_LCR, LCR_DLAB | LCR_8N1);
    wr(UART_DLL, 0x34);
    wr(UART_DLM, 0x12);
    u8 dll = rd(UART_DLL), dlm = rd(UART_DLM);
    wr(UART_DLL, 1);     /* back to 115200 */
    wr(UART_DLM, 0);
    wr(UART_LCR, LCR_8N1);
    EXPECT_EQ(dll, 0x34);
    EXPECT_EQ(dlm, 0x12);
    EXPECT_EQ(rd(UART_LCR), LCR_8N1);
    test_end();

    test_begin("ier-scr-readback");
    wr(UART_IER, 0x0f);
    EXPECT_EQ(rd(UART_IER), 0x0f);
    wr(UART_IER, 0);
    EXPECT_EQ(rd(UART_IER), 0);
    wr(UART_SCR, 0x5a);
    EXPECT_EQ(rd(UART_SCR), 0x5a);
    wr(UART_SCR, 0xa5);
    EXPECT_EQ(rd(UART_SCR), 0xa5);
    test_end();

    test_begin("iir-lsr-idle");
    EXPECT_EQ(rd(UART_IIR), IIR_FIFO_ON | IIR_NO_INT);
    EXPECT_EQ(rd(UART_LSR) & (LSR_THRE | LSR_TEMT | LSR_DR), LSR_THRE | LSR_TEMT);
    test_end();

    loopback_phase();

    test_begin("loopback-msr-mirrors-mcr");
    EXPECT_EQ(lr.msr_all, MSR_CTS | MSR_DSR | MSR_RI | MSR_DCD);
    EXPECT_EQ(lr.msr_dtr_out2, MSR_DSR | MSR_DCD);
    test_end();
    test_begin("loopback-byte");
    EXPECT_EQ(lr.lsr_before & LSR_DR, 0);
    EXPECT_EQ(lr.lsr_after_one & LSR_DR, LSR_DR);
    EXPECT_EQ(lr.rbr_one, 'A');
    EXPECT_EQ(lr.lsr_after_read & LSR_DR, 0);
    test_end();
    test_begin("loopback-fifo-order");
    for (u32 i = 0; i < sizeof(lr.fifo); i++)
        EXPECT_EQ(lr.fifo[i], 'a' + i);
    EXPECT_EQ(lr.lsr_after_fifo & LSR_DR, 0);
    test_end();
    test_begin("iir-thre-cleared-by-read");
    EXPECT_EQ(lr.iir_thre, IIR_FIFO_ON | IIR_THRE);
    EXPECT_EQ(lr.iir_after_read, IIR_FIFO_ON | IIR_NO_INT);
    test_end();
    test_begin("irq4-received-data");
    EXPECT_EQ(lr.irqs, 1);
    /* Data available or, if the handler ran late, the FIFO timeout: both mean "read RBR". */
    u8 id = lr.iir_rda & (IIR_ID_MASK | IIR_NO_INT);
    if (id != IIR_RDA && id != IIR_CTI)
        test_failf("IIR in the IRQ4 handler = 0x%x, want data available (0x%x) or timeout (0x%x)", lr.iir_rda, IIR_RDA, IIR_CTI);
    EXPECT_EQ(lr.irq_rbr, 'Z');
    test_end();
    test_begin("loopback-off-output-works");
    EXPECT_EQ(rd(UART_MCR), MCR_DTR | MCR_RTS | MCR_OUT2);
    test_end();
    test_finish();
}
