/* PIC initialisation sequence and masking (8259A data sheet, "Initialization command words"). */
#include "pic.h"
#include "io.h"

#define ICW1_INIT_ICW4 0x11   /* edge triggered, cascade, ICW4 follows */
#define ICW3_MASTER_SLAVE_ON_IR2 0x04
#define ICW3_SLAVE_ID 0x02
#define ICW4_8086 0x01
#define OCW2_EOI 0x20
#define SLAVE_IRQ_BASE 8
#define CASCADE_IRQ 2

void pic_remap(void)
{
    outb(PIC1_CMD, ICW1_INIT_ICW4);
    outb(PIC2_CMD, ICW1_INIT_ICW4);
    outb(PIC1_DATA, PIC_VECTOR_BASE);
    outb(PIC2_DATA, PIC_VECTOR_BASE + 8);
    outb(PIC1_DATA, ICW3_MASTER_SLAVE_ON_IR2);
    outb(PIC2_DATA, ICW3_SLAVE_ID);
    outb(PIC1_DATA, ICW4_8086);
    outb(PIC2_DATA, ICW4_8086);
    outb(PIC1_DATA, 0xFF);
    outb(PIC2_DATA, 0xFF);
}

void pic_unmask(u8 irq)
{
    if (irq >= SLAVE_IRQ_BASE) {
        outb(PIC2_DATA, inb(PIC2_DATA) & (u8)~(1u << (irq - SLAVE_IRQ_BASE)));
        irq = CASCADE_IRQ;
    }
    outb(PIC1_DATA, inb(PIC1_DATA) & (u8)~(1u << irq));
}

void pic_mask(u8 irq)
{
    if (irq >= SLAVE_IRQ_BASE)
        outb(PIC2_DATA, inb(PIC2_DATA) | (u8)(1u << (irq - SLAVE_IRQ_BASE)));
    else
        outb(PIC1_DATA, inb(PIC1_DATA) | (u8)(1u << irq));
}

void pic_eoi(u8 irq)
{
    if (irq >= SLAVE_IRQ_BASE)
        outb(PIC2_CMD, OCW2_EOI);
    outb(PIC1_CMD, OCW2_EOI);
}
