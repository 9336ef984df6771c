/* Polled 16550A UART on COM1: 115200 baud 8N1, FIFOs enabled, no interrupts. */
#include "serial.h"
#include "io.h"

enum {
    UART_THR = 0, UART_RBR = 0, UART_DLL = 0, UART_IER = 1, UART_DLM = 1,
    UART_FCR = 2, UART_LCR = 3, UART_MCR = 4, UART_LSR = 5,
};
#define LCR_8N1 0x03
#define LCR_DLAB 0x80
#define FCR_ENABLE_CLEAR 0x07   /* enable FIFOs, clear RX and TX */
#define MCR_DTR_RTS_OUT2 0x0B
#define LSR_DR 0x01
#define LSR_THRE 0x20
#define UART_CLOCK_BAUD 115200  /* 1.8432 MHz / 16 */
#define BAUD 115200

void serial_init(void)
{
    u16 divisor = UART_CLOCK_BAUD / BAUD;
    outb(COM1_BASE + UART_IER, 0);
    outb(COM1_BASE + UART_LCR, LCR_DLAB);
    outb(COM1_BASE + UART_DLL, divisor & 0xFF);
    outb(COM1_BASE + UART_DLM, divisor >> 8);
    outb(COM1_BASE + UART_LCR, LCR_8N1);
    outb(COM1_BASE + UART_FCR, FCR_ENABLE_CLEAR);
    outb(COM1_BASE + UART_MCR, MCR_DTR_RTS_OUT2);
}

void serial_putc(char c)
{
    while (!(inb(COM1_BASE + UART_LSR) & LSR_THRE))
        ;
    outb(COM1_BASE + UART_THR, (u8)c);
}

void serial_puts(const char *s)
{
    while (*s)
        serial_putc(*s++);
}

int serial_getc_nowait(void)
{
    if (!(inb(COM1_BASE + UART_LSR) & LSR_DR))
        return -1;
    return inb(COM1_BASE + UART_RBR);
}
