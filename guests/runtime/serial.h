/* Polled 16550A UART driver for COM1 (National Semiconductor PC16550D data sheet). */
#ifndef RT_SERIAL_H
#define RT_SERIAL_H
#include "types.h"
#define COM1_BASE 0x3F8
void serial_init(void);
void serial_putc(char c);
void serial_puts(const char *s);
int serial_getc_nowait(void); /* -1 when the receive buffer is empty */
#endif
