/* The runtime's GDT/IDT/TSS: flat ring-0 and ring-3 segments, a TSS for ring transitions, and an
 * IDT whose 256 entries all lead to trap_dispatch (see isr.S). */
#include "desc.h"
#include "cpu.h"
#include "string.h"

struct seg_desc gdt[GDT_ENTRIES] __attribute__((aligned(8)));
struct gate_desc idt[256] __attribute__((aligned(8)));
struct tss32 tss __attribute__((aligned(16)));
/* Stack used on entry to ring 0 from ring 3 (TSS.ESP0). */
static u8 ring0_stack[8192] __attribute__((aligned(16)));
u8 *const ring0_stack_top_ptr = ring0_stack + sizeof(ring0_stack);

extern const u32 isr_stub_table[256];

#define FLAT_LIMIT 0xFFFFF  /* with G=1: 4 GiB */
#define REAL_MODE_LIMIT 0xFFFF

void gdt_set(int index, u32 base, u32 limit, u8 access, u8 flags)
{
    struct seg_desc *d = &gdt[index];
    d->limit_lo = limit & 0xFFFF;
    d->base_lo = base & 0xFFFF;
    d->base_mid = (base >> 16) & 0xFF;
    d->access = access;
    d->flags_limit_hi = (u8)((flags << 4) | ((limit >> 16) & 0xF));
    d->base_hi = (base >> 24) & 0xFF;
}

void gate_set(struct gate_desc *g, u32 offset, u16 selector, u8 type, u8 dpl, u8 params)
{
    g->offset_lo = offset & 0xFFFF;
    g->offset_hi = offset >> 16;
    g->selector = selector;
    g->param_count = params & 0x1F;
    g->type_attr = (u8)(DESC_P | DESC_DPL(dpl) | type);
}

void idt_set_default(u8 vec, u8 type, u8 dpl)
{
    gate_set(&idt[vec], isr_stub_table[vec], SEL_KCODE, type, dpl, 0);
}

void iomap_allow(u16 port, int allow)
{
    if (allow)
        tss.iomap[port >> 3] &= (u8)~(1u << (port & 7));
    else
        tss.iomap[port >> 3] |= (u8)(1u << (port & 7));
}

void desc_reload(void)
{
    struct dtr g = { sizeof(gdt) - 1, (u32)gdt };
    struct dtr i = { sizeof(idt) - 1, (u32)idt };
    lgdt(&g);
    lidt(&i);
}

void desc_init(void)
{
    memset(gdt, 0, sizeof(gdt));
    gdt_set(GDT_KCODE, 0, FLAT_LIMIT, DESC_P | DESC_S | DESC_CODE_XR, DESC_G | DESC_DB);
    gdt_set(GDT_KDATA, 0, FLAT_LIMIT, DESC_P | DESC_S | DESC_DATA_RW, DESC_G | DESC_DB);
    gdt_set(GDT_UCODE, 0, FLAT_LIMIT, DESC_P | DESC_DPL(3) | DESC_S | DESC_CODE_XR, DESC_G | DESC_DB);
    gdt_set(GDT_UDATA, 0, FLAT_LIMIT, DESC_P | DESC_DPL(3) | DESC_S | DESC_DATA_RW, DESC_G | DESC_DB);
    gdt_set(GDT_CODE16, 0, REAL_MODE_LIMIT, DESC_P | DESC_S | DESC_CODE_XR, 0);
    gdt_set(GDT_DATA16, 0, REAL_MODE_LIMIT, DESC_P | DESC_S | DESC_DATA_RW, 0);

    memset(&tss, 0, sizeof(tss));
    tss.ss0 = SEL_KDATA;
    tss.esp0 = (u32)ring0_stack_top_ptr;
    /* A task switch back to this task reloads CR3 from here (nothing saves it on the way out). */
    tss.cr3 = read_cr3();
    tss.iomap_base = (u16)__builtin_offsetof(struct tss32, iomap);
    memset(tss.iomap, 0xFF, sizeof(tss.iomap));
    gdt_set(GDT_TSS, (u32)&tss, sizeof(tss) - 1, DESC_P | SYS_TSS32_AVAIL, 0);

    for (int v = 0; v < 256; v++)
        idt_set_default((u8)v, SYS_INT_GATE32, 0);

    desc_reload();
    /* Reload CS with a far return and the data segments with the new flat selectors. */
    __asm__ volatile(
        "pushl %0\n\t"
        "pushl $1f\n\t"
        "lret\n"
        "1:\n\t"
        "movw %w1, %%ds\n\t"
        "movw %w1, %%es\n\t"
        "movw %w1, %%fs\n\t"
        "movw %w1, %%gs\n\t"
        "movw %w1, %%ss\n\t"
        : : "i"((u32)SEL_KCODE), "r"((u32)SEL_KDATA) : "memory");
    ltr(SEL_TSS);
}
