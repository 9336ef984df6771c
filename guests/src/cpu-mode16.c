/* cpu-mode16: a 16-bit code segment in the GDT (default operand and address size 16, with 0x66 and
 * 0x67 prefixes, 16-bit CALL/RET and 16-bit offset wrap-around), then a switch back to real mode
 * and real-mode tests (segment:offset arithmetic, INT through the interrupt vector table, 16-bit
 * addressing forms with their default segments), and the return to protected mode.
 * The code is in cpu-mode16-asm.S; this file places it, runs it, and checks its results. */
#include "rt.h"

#define BLOB_BASE 0x7000u
#define BLOB_SEG 0x0700u
#define GDT_BLOB16 GDT_FIRST_FREE          /* must match SEL_BLOB16 in the assembly */
#define ADDR_AREA 0x6000u
#define DS_BASE 0x100u

extern u8 rm_blob_start[], rm_blob_end[], rm_inputs[], rm_results[], rm_after_int[];
static u32 flat_value = 0xf1a7f1a7;

static u32 result(int i)
{
    return peek32((const void *)(BLOB_BASE + (u32)(rm_results - rm_blob_start) + 4 * (u32)i));
}

static u16 phys16(u32 addr) { barrier(); return *(volatile u16 *)addr; }

int main(u32 magic, const struct multiboot_info *info)
{
    (void)magic; (void)info;
    rt_init();
    u32 size = (u32)(rm_blob_end - rm_blob_start);
    memcpy((void *)BLOB_BASE, rm_blob_start, size);
    u32 *inputs = (u32 *)(BLOB_BASE + (u32)(rm_inputs - rm_blob_start));
    inputs[0] = (u32)&flat_value;
    inputs[1] = 0x0e0e0e0e;
    /* A distinct word at every even address of the two addressing areas. */
    for (u32 a = ADDR_AREA - 0x10; a < ADDR_AREA + DS_BASE + 0x40; a += 2)
        *(volatile u16 *)a = (u16)(a * 7 + 0x1357);
    gdt_set(GDT_BLOB16, BLOB_BASE, 0xFFFF, DESC_P | DESC_S | DESC_CODE_XR, 0);

    __asm__ volatile("lcall %0, $0" : : "i"(SEL(GDT_BLOB16, 0)) : "eax", "ebx", "ecx", "edx", "esi", "edi", "memory", "cc");
    desc_reload();   /* the real-mode part loaded the IVT into IDTR */

    test_begin("pm16-operand-size");
    EXPECT_EQ(result(0), 0xaaaa1234);
    EXPECT_EQ(result(1), 0x12345678);
    test_end();
    test_begin("pm16-addr32-prefix");
    EXPECT_EQ(result(2), 0xf1a7f1a7);
    test_end();
    test_begin("pm16-push-call-sizes");
    EXPECT_EQ(result(3), 2);
    EXPECT_EQ(result(4), 4);
    EXPECT_EQ(result(5), 2);
    test_end();
    test_begin("pm16-offset-wraps-at-64k");
    EXPECT_EQ(result(6), 0x0e0e0e0e);
    test_end();

    test_begin("real-mode-entered");
    EXPECT_EQ(result(7) & CR0_PE, 0);
    EXPECT_EQ(result(16) & 0xffff, BLOB_SEG);
    test_end();
    test_begin("real-mode-segment-arithmetic");
    EXPECT_EQ(result(8), 0xa5);
    EXPECT_EQ(result(9), 0xa5);
    EXPECT_EQ(*(volatile u8 *)0x6503, 0xa5);
    test_end();
    test_begin("real-mode-ivt-int");
    u32 sp_before = result(11) & 0xffff;
    EXPECT_EQ(result(10) & 0xffff, sp_before - 6);        /* FLAGS, CS, IP */
    EXPECT_EQ(result(12) & 0xffff, sp_before);            /* IRET popped them */
    EXPECT_EQ(result(20) & 0xffff, (u32)(rm_after_int - rm_blob_start));
    EXPECT_EQ(result(21) & 0xffff, BLOB_SEG);
    test_end();
    test_begin("real-mode-addressing-forms");
    EXPECT_EQ(result(13) & 0xffff, phys16(DS_BASE + ADDR_AREA + 4));     /* [bx+si] */
    EXPECT_EQ(result(14) & 0xffff, phys16(ADDR_AREA + 4));               /* [bp+si] */
    EXPECT_EQ(result(15) & 0xffff, phys16(ADDR_AREA + 6 + 8));           /* [bp+di+8] */
    EXPECT_EQ(result(17) & 0xffff, phys16(DS_BASE + ADDR_AREA + 6 + 0x20)); /* [bx+di+0x20] */
    EXPECT_EQ(result(18) & 0xffff, phys16(ADDR_AREA - 2));               /* [bp-2] */
    EXPECT_EQ(result(19) & 0xffff, phys16(DS_BASE + ADDR_AREA));         /* ds:[bp] */
    test_end();
    test_begin("back-to-protected-mode");
    EXPECT_EQ(result(22) & CR0_PE, CR0_PE);
    EXPECT_EQ(read_cs(), SEL_KCODE);
    EXPECT_EQ(read_ss(), SEL_KDATA);
    test_end();
    test_finish();
}
