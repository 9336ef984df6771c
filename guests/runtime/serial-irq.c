/* COM1 transmit ring drained by the THRE interrupt. The ring is shared with the handler, so the
 * producer updates it with interrupts off. */
#include "serial-irq.h"
#include "cpu.h"
#include "io.h"
#include "pic.h"
#include "serial.h"
#include "trap.h"

enum { UART_THR = 0, UART_IER = 1, UART_IIR = 2, UART_LSR = 5 };
#define IER_THRI 0x02
#define IIR_NO_INT 0x01
#define IIR_ID_MASK 0x0E
#define IIR_THRI 0x02
#define LSR_THRE 0x20

static volatile u8 ring[SERIAL_RING_BYTES];
static volatile u32 head, tail;   /* head: next to write; tail: next to send */
static volatile int busy;         /* a THRE interrupt is expected */
static volatile u32 irq_count;

/* Fills the (empty) transmit FIFO from the ring; with interrupts off. */
static void fill_fifo(void)
{
    u32 n = 0;
    while (tail != head && n < UART_FIFO_BYTES) {
        outb(COM1_BASE + UART_THR, ring[tail % SERIAL_RING_BYTES]);
        tail++;
        n++;
    }
    busy = n != 0;
}

static void com1_irq(struct trap_frame *f)
{
    (void)f;
    u8 iir = inb(COM1_BASE + UART_IIR);   /* reading IIR while it says THRE clears that source */
    if (!(iir & IIR_NO_INT) && (iir & IIR_ID_MASK) == IIR_THRI) {
        irq_count++;
        fill_fifo();
    }
    pic_eoi(COM1_IRQ);
}

void serial_irq_init(void)
{
    head = tail = 0;
    busy = 0;
    irq_count = 0;
    trap_set_handler(PIC_VECTOR_BASE + COM1_IRQ, com1_irq);
    outb(COM1_BASE + UART_IER, IER_THRI);
    pic_unmask(COM1_IRQ);
}

/* Waits for the next interrupt (STI's shadow covers HLT); returns with IF = 0. */
static void sleep_once(void)
{
    __asm__ volatile("sti; hlt; cli" : : : "memory");
}

void serial_irq_putc(char c)
{
    u32 flags = read_eflags();
    cli();
    while (head - tail >= SERIAL_RING_BYTES)
        sleep_once();
    ring[head % SERIAL_RING_BYTES] = (u8)c;
    head++;
    /* Idle transmitter: no interrupt will come until a byte is written, so write the first ones. */
    if (!busy && (inb(COM1_BASE + UART_LSR) & LSR_THRE))
        fill_fifo();
    write_eflags(flags);
}

void serial_irq_write(const void *buf, u32 len)
{
    const char *p = buf;
    for (u32 i = 0; i < len; i++)
        serial_irq_putc(p[i]);
}

void serial_irq_flush(void)
{
    u32 flags = read_eflags();
    cli();
    while (tail != head || busy) {
        sleep_once();
        /* The last THRE interrupt finds the ring empty and clears busy. */
    }
    write_eflags(flags);
}

void serial_irq_stop(void)
{
    serial_irq_flush();
    pic_mask(COM1_IRQ);
    outb(COM1_BASE + UART_IER, 0);
    trap_set_handler(PIC_VECTOR_BASE + COM1_IRQ, NULL);
}

u32 serial_irq_count(void) { return irq_count; }
