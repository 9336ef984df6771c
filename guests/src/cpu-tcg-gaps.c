/* cpu-tcg-gaps: architectural checks that QEMU 7.2 TCG does not perform, so this guest's expected
 * transcript is written by hand from the SDM (see README.md):
 *   - RDMSR/WRMSR of an unimplemented MSR raise #GP(0) (SDM vol. 2 RDMSR, WRMSR);
 *   - segment limit checks: an access past a data segment's limit is #GP(0), past the stack
 *     segment's limit #SS(0) (SDM vol. 3 section 5.3);
 *   - type checks on access: a write through a read-only data segment is #GP(0), any access
 *     through a null selector is #GP(0) (SDM vol. 3 section 5.4);
 *   - MOV to CR0 with invalid combinations (NW without CD, PG without PE) is #GP(0)
 *     (SDM vol. 2 MOV to control registers). PG-without-PE is last: a CPU that accepts it
 *     leaves protected mode with paging on and cannot report anything more. */
#include "rt.h"

#define NOINLINE __attribute__((noinline, noclone))
#define MSR_UNIMPLEMENTED 0x0badbeef
#define GDT_RO_DATA (GDT_FIRST_FREE + 0)
#define GDT_SMALL_DATA (GDT_FIRST_FREE + 1)     /* 16-byte data segment */
#define GDT_LIMITED_STACK (GDT_FIRST_FREE + 2)  /* stack segment covering 0 .. 64 MiB - 1 */
#define LIMITED_STACK_END 0x04000000u

static u64 value;
static u16 sel_arg;
static u8 small_data[16];

static NOINLINE void rdmsr_body(void) { value = rdmsr(MSR_UNIMPLEMENTED); }
static NOINLINE void wrmsr_body(void) { wrmsr(MSR_UNIMPLEMENTED, 1); }
static NOINLINE void es_write_body(void) { __asm__ volatile("movw %0, %%es; movl $1, %%es:0" : : "r"(sel_arg) : "memory"); }
static NOINLINE void es_read_body(void)
{
    u32 v;
    __asm__ volatile("movw %1, %%es; movl %%es:12, %0" : "=r"(v) : "r"(sel_arg) : "memory");
    value = v;
}
static NOINLINE void es_read_beyond_body(void)
{
    u32 v;
    __asm__ volatile("movw %1, %%es; movl %%es:14, %0" : "=r"(v) : "r"(sel_arg) : "memory");
    value = v;
}
static NOINLINE void ss_beyond_body(void)
{
    /* EBP-based addressing goes through SS; the address is past the stack segment's limit. */
    __asm__ volatile("pushl %%ebp; movw %0, %%ss; movl %1, %%ebp; movl (%%ebp), %%eax; popl %%ebp"
                     : : "r"(sel_arg), "i"(LIMITED_STACK_END + 0x100000) : "eax", "memory");
}
/* NW = 1 with CD = 0 (CD is cleared explicitly: the loader may have left caching disabled). */
static NOINLINE void cr0_nw_body(void) { write_cr0((read_cr0() & ~CR0_CD) | CR0_NW); }
static NOINLINE void cr0_pg_no_pe_body(void) { write_cr0((read_cr0() | CR0_PG) & ~CR0_PE); }

static void expect_fault(const char *name, void (*body)(void), int vector, u32 error)
{
    test_begin(name);
    int v = catch_exception(body);
    EXPECT_EQ(v, vector);
    if (v == vector)
        EXPECT_EQ(last_exception.error_code, error);
    test_end();
}

int main(u32 magic, const struct multiboot_info *info)
{
    (void)magic; (void)info;
    rt_init();

    test_begin("rdmsr-unknown-gp");
    value = 0x1234;
    EXPECT_EQ(catch_exception(rdmsr_body), VEC_GP);
    EXPECT_EQ(last_exception.error_code, 0);
    EXPECT_EQ64(value, 0x1234);    /* EDX:EAX not written */
    test_end();
    expect_fault("wrmsr-unknown-gp", wrmsr_body, VEC_GP, 0);

    gdt_set(GDT_RO_DATA, 0, 0xFFFFF, DESC_P | DESC_S | DESC_DATA_RO, DESC_G | DESC_DB);
    gdt_set(GDT_SMALL_DATA, (u32)small_data, sizeof(small_data) - 1, DESC_P | DESC_S | DESC_DATA_RW, DESC_DB);
    gdt_set(GDT_LIMITED_STACK, 0, (LIMITED_STACK_END >> 12) - 1, DESC_P | DESC_S | DESC_DATA_RW, DESC_G | DESC_DB);

    test_begin("segment-within-limit");
    small_data[12] = 0x78; small_data[13] = 0x56; small_data[14] = 0x34; small_data[15] = 0x12;
    sel_arg = SEL(GDT_SMALL_DATA, 0);
    EXPECT_EQ(catch_exception(es_read_body), NO_EXCEPTION);   /* bytes 12..15: the last dword */
    EXPECT_EQ64(value, 0x12345678);
    test_end();
    sel_arg = SEL(GDT_SMALL_DATA, 0);
    expect_fault("gp-beyond-segment-limit", es_read_beyond_body, VEC_GP, 0);
    sel_arg = SEL(GDT_LIMITED_STACK, 0);
    expect_fault("ss-beyond-stack-limit", ss_beyond_body, VEC_SS, 0);
    sel_arg = SEL(GDT_RO_DATA, 0);
    expect_fault("gp-write-read-only-segment", es_write_body, VEC_GP, 0);
    sel_arg = 0;
    expect_fault("gp-null-segment-access", es_write_body, VEC_GP, 0);
    expect_fault("gp-cr0-nw-without-cd", cr0_nw_body, VEC_GP, 0);
    expect_fault("gp-cr0-pg-without-pe", cr0_pg_no_pe_body, VEC_GP, 0);
    test_finish();
}
