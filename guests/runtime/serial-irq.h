/* Interrupt-driven 16550A transmit on COM1 (PC16550D data sheet: IER bit 1 "enable transmitter
 * holding register empty interrupt", IIR interrupt identification; facts.md 5.1): bytes go into a
 * ring buffer and the IRQ4 handler moves them to the transmit FIFO. */
#ifndef RT_SERIAL_IRQ_H
#define RT_SERIAL_IRQ_H
#include "types.h"

#define COM1_IRQ 4
#define SERIAL_RING_BYTES 256   /* power of two */
#define UART_FIFO_BYTES 16

/* Installs the IRQ4 handler, enables the THRE interrupt and unmasks IRQ4 (serial_init and
 * pic_remap first). */
void serial_irq_init(void);
/* Queues a byte, sleeping with HLT while the ring is full; starts transmission if idle. */
void serial_irq_putc(char c);
void serial_irq_write(const void *buf, u32 len);
/* Sleeps until every queued byte is in the UART. */
void serial_irq_flush(void);
/* Disables the THRE interrupt and masks IRQ4, after flushing. */
void serial_irq_stop(void);
/* THRE interrupts taken so far. */
u32 serial_irq_count(void);
#endif
