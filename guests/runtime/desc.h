/* GDT, IDT and TSS (IA-32 SDM vol. 3 sections 3.4.5, 6.11, 7.2). */
#ifndef RT_DESC_H
#define RT_DESC_H
#include "types.h"

/* The runtime's fixed GDT layout; entries from GDT_FIRST_FREE on belong to the tests. */
enum {
    GDT_NULL = 0, GDT_KCODE = 1, GDT_KDATA = 2, GDT_UCODE = 3, GDT_UDATA = 4, GDT_TSS = 5,
    GDT_CODE16 = 6, GDT_DATA16 = 7, GDT_FIRST_FREE = 8, GDT_ENTRIES = 24,
};
#define SEL(index, rpl) ((u16)(((index) << 3) | (rpl)))
#define SEL_KCODE SEL(GDT_KCODE, 0)
#define SEL_KDATA SEL(GDT_KDATA, 0)
#define SEL_UCODE SEL(GDT_UCODE, 3)
#define SEL_UDATA SEL(GDT_UDATA, 3)
#define SEL_TSS SEL(GDT_TSS, 0)
#define SEL_CODE16 SEL(GDT_CODE16, 0)
#define SEL_DATA16 SEL(GDT_DATA16, 0)
#define SEL_TI_LDT 0x4

/* Descriptor access byte (SDM vol. 3 figure 3-8). */
#define DESC_P (1u << 7)
#define DESC_DPL(n) ((u8)((n) << 5))
#define DESC_S (1u << 4)            /* code/data (1) vs system (0) */
#define DESC_CODE_XR 0x0A           /* execute/read, non-conforming */
#define DESC_CODE_XRC 0x0E          /* execute/read, conforming */
#define DESC_DATA_RW 0x02
#define DESC_DATA_RWED 0x06         /* expand-down */
#define DESC_DATA_RO 0x00
#define DESC_ACCESSED 0x01
/* System descriptor and gate types (SDM vol. 3 table 3-2). */
#define SYS_LDT 0x2
#define SYS_TSS32_AVAIL 0x9
#define SYS_TSS32_BUSY 0xB
#define SYS_CALL_GATE32 0xC
#define SYS_TASK_GATE 0x5
#define SYS_INT_GATE32 0xE
#define SYS_TRAP_GATE32 0xF
/* Flags nibble (G, D/B). */
#define DESC_G (1u << 3)
#define DESC_DB (1u << 2)

struct __attribute__((packed)) seg_desc {
    u16 limit_lo, base_lo;
    u8 base_mid, access, flags_limit_hi, base_hi;
};
struct __attribute__((packed)) gate_desc {
    u16 offset_lo, selector;
    u8 param_count, type_attr;
    u16 offset_hi;
};
/* 32-bit TSS (SDM vol. 3 figure 7-2) followed by an I/O permission bitmap for 64 Ki ports. */
#define IOMAP_BYTES (65536 / 8)
struct __attribute__((packed)) tss32 {
    u16 prev_task, r0;
    u32 esp0; u16 ss0, r1;
    u32 esp1; u16 ss1, r2;
    u32 esp2; u16 ss2, r3;
    u32 cr3, eip, eflags, eax, ecx, edx, ebx, esp, ebp, esi, edi;
    u16 es, r4, cs, r5, ss, r6, ds, r7, fs, r8, gs, r9, ldt, r10;
    u16 trap, iomap_base;
    u8 iomap[IOMAP_BYTES + 1];   /* the extra byte of all ones ends the bitmap */
};

extern struct seg_desc gdt[GDT_ENTRIES];
extern struct gate_desc idt[256];
extern struct tss32 tss;
extern u8 *const ring0_stack_top_ptr;

/* Writes a code/data/system descriptor. flags is the G/DB nibble. */
void gdt_set(int index, u32 base, u32 limit, u8 access, u8 flags);
/* Writes a gate descriptor (interrupt/trap/call/task) in the GDT (call gates) or the IDT. */
void gate_set(struct gate_desc *g, u32 offset, u16 selector, u8 type, u8 dpl, u8 params);
/* Points IDT vector vec at the runtime's stub for it with the given gate type and DPL. */
void idt_set_default(u8 vec, u8 type, u8 dpl);
/* Loads the GDT, reloads every segment register, loads the TSS and the IDT. */
void desc_init(void);
/* Reloads GDTR/IDTR with the runtime's tables (after a test changed them). */
void desc_reload(void);
/* Allows (1) or denies (0) ring-3 access to port in the TSS I/O bitmap. */
void iomap_allow(u16 port, int allow);
#endif
