/* 8259A PIC pair (Intel 8259A data sheet; ports and remap in facts.md 5.3). */
#ifndef RT_PIC_H
#define RT_PIC_H
#include "types.h"
#define PIC1_CMD 0x20
#define PIC1_DATA 0x21
#define PIC2_CMD 0xA0
#define PIC2_DATA 0xA1
#define PIC_VECTOR_BASE 0x20  /* IRQ n -> vector 0x20 + n (0x28 + n - 8 on the slave) */
/* ICW1-ICW4 with master base 0x20 and slave base 0x28; leaves every line masked. */
void pic_remap(void);
void pic_unmask(u8 irq);
void pic_mask(u8 irq);
void pic_eoi(u8 irq);
#endif
