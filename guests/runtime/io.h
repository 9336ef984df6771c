/* Port I/O instructions (IA-32 SDM vol. 2: IN, OUT, INS, OUTS). */
#ifndef RT_IO_H
#define RT_IO_H
#include "types.h"

static inline void outb(u16 port, u8 v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }
static inline void outw(u16 port, u16 v) { __asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port)); }
static inline void outl(u16 port, u32 v) { __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port)); }
static inline u8 inb(u16 port) { u8 v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline u16 inw(u16 port) { u16 v; __asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline u32 inl(u16 port) { u32 v; __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port)); return v; }
/* REP INSW / REP OUTSW: count words between a port and memory (ATA PIO data transfers). */
static inline void insw(u16 port, void *buf, u32 count)
{
    __asm__ volatile("cld; rep insw" : "+D"(buf), "+c"(count) : "d"(port) : "memory");
}
static inline void outsw(u16 port, const void *buf, u32 count)
{
    __asm__ volatile("cld; rep outsw" : "+S"(buf), "+c"(count) : "d"(port) : "memory");
}
/* Port 0x80 is the POST-code port; a write there is the traditional I/O delay. */
static inline void io_delay(void) { outb(0x80, 0); }
#endif
