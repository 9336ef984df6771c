/* cpu-exceptions: #DE, #DB (single step), #BP (INT3, INT 3), #OF (INTO), #BR (BOUND), #UD (UD2,
 * LOCK on a non-lockable instruction, MOV to CS), #NM (WAIT with CR0.TS and MP), #NP (segment
 * and IDT gate not present), #SS (not-present SS), #GP with selector and IDT error codes, and double faults (a contributory fault while delivering #GP or #DE)
 * versus a benign exception through a missing gate. Faults report the faulting instruction's
 * EIP, traps the next one. Checks QEMU TCG skips (segment limits, CR0 combinations) are in
 * cpu-tcg-gaps. SDM vol. 3 chapter 6 (6.13 error code, 6.15 exception reference). */
#include "rt.h"

#define NOINLINE __attribute__((noinline, noclone))
#define GDT_NP_DATA (GDT_FIRST_FREE + 0)      /* data segment, not present */
#define GDT_XO_CODE (GDT_FIRST_FREE + 1)      /* execute-only code segment */
#define GDT_RO_DATA (GDT_FIRST_FREE + 2)      /* read-only data segment */
#define GDT_NP_CODE (GDT_FIRST_FREE + 4)      /* code segment, not present */
#define GDT_BEYOND GDT_ENTRIES                /* first index past the GDT limit */

/* Addresses recorded by the probes' inline asm (faulting instruction or the one after it). */
volatile u32 want_eip;
static u32 bound_pair[2] = { 10, 20 };

static NOINLINE void de_body(void) { __asm__ volatile("movl $1f, want_eip; xorl %%ecx, %%ecx; 1: divl %%ecx" : : : "eax", "ecx", "edx", "memory"); }
static NOINLINE void bp_body(void) { __asm__ volatile("movl $1f, want_eip; int3; 1:" : : : "memory"); }
static NOINLINE void int3_long_body(void) { __asm__ volatile("movl $1f, want_eip; int $3; 1:" : : : "memory"); }
static NOINLINE void into_body(void)
{
    __asm__ volatile("movl $1f, want_eip; movl $0x7fffffff, %%eax; addl $1, %%eax; into; 1:" : : : "eax", "cc", "memory");
}
static NOINLINE void into_no_of_body(void) { __asm__ volatile("xorl %%eax, %%eax; into" : : : "eax", "cc"); }
static NOINLINE void bound_body(void)
{
    __asm__ volatile("movl $1f, want_eip; movl $21, %%eax; 1: boundl %%eax, %0" : : "m"(bound_pair) : "eax", "memory");
}
static NOINLINE void bound_ok_body(void) { __asm__ volatile("movl $20, %%eax; boundl %%eax, %0" : : "m"(bound_pair) : "eax"); }
static NOINLINE void ud2_body(void) { __asm__ volatile("movl $1f, want_eip; 1: ud2" : : : "memory"); }
static NOINLINE void lock_nop_body(void) { __asm__ volatile("movl $1f, want_eip; 1: .byte 0xf0, 0x01, 0xc3 /* lock addl %%eax, %%ebx */" : : : "ebx", "cc", "memory"); }
static NOINLINE void mov_cs_body(void) { __asm__ volatile("movl $1f, want_eip; movl %%cs, %%eax; 1: .byte 0x8e, 0xc8" : : : "eax", "memory"); }
static NOINLINE void wait_body(void) { __asm__ volatile("movl $1f, want_eip; 1: wait" : : : "memory"); }
static NOINLINE void single_step_body(void)
{
    __asm__ volatile("movl $1f, want_eip; pushfl; orl $0x100, (%%esp); popfl; nop; 1: nop" : : : "memory", "cc");
}

/* MOV SS inhibits the single-step trap (and interrupts) until after the next instruction. */
static NOINLINE void mov_ss_step_body(void)
{
    __asm__ volatile("movl $1f, want_eip; movw %%ss, %%ax; pushfl; orl $0x100, (%%esp); popfl; nop;"
                     " movw %%ax, %%ss; nop; 1: nop" : : : "eax", "memory", "cc");
}

static volatile u32 step_count;
/* The first single-step trap resumes (TF stays set); the second ends the catch. */
static void step_over_handler(struct trap_frame *f)
{
    if (step_count++ == 0)
        return;
    trap_set_handler(VEC_DB, NULL);
    last_exception.vector = VEC_DB;
    last_exception.eip = f->eip;
    trap_catch_return(VEC_DB);
}

static u16 sel_arg;
static NOINLINE void load_ds_body(void) { __asm__ volatile("movw %0, %%ds" : : "r"(sel_arg) : "memory"); }
static NOINLINE void load_ss_body(void) { __asm__ volatile("movw %0, %%ss" : : "r"(sel_arg) : "memory"); }
static NOINLINE void far_jmp_body(void)
{
    static struct __attribute__((packed)) { u32 off; u16 sel; } ptr;
    ptr.off = 0;
    ptr.sel = sel_arg;
    __asm__ volatile("ljmp *%0" : : "m"(ptr) : "memory");
}
static NOINLINE void int_0x41_body(void) { __asm__ volatile("int $0x41"); }
static void expect_vector(const char *name, void (*body)(void), int vector, u32 error, int check_eip)
{
    test_begin(name);
    want_eip = 0;
    int v = catch_exception(body);
    EXPECT_EQ(v, vector);
    if (vector != NO_EXCEPTION && vector >= 0 &&
        (vector == VEC_DF || vector == VEC_TS || vector == VEC_NP || vector == VEC_SS || vector == VEC_GP ||
         vector == VEC_PF || vector == VEC_AC))
        EXPECT_EQ(last_exception.error_code, error);
    if (check_eip)
        EXPECT_EQ(last_exception.eip, want_eip);
    EXPECT_EQ(last_exception.cs, SEL_KCODE);
    test_end();
}

static void test_simple_exceptions(void)
{
    expect_vector("de-divide-by-zero", de_body, VEC_DE, 0, 1);
    expect_vector("bp-int3-trap-eip", bp_body, VEC_BP, 0, 1);
    expect_vector("bp-int-3-trap-eip", int3_long_body, VEC_BP, 0, 1);
    expect_vector("of-into-overflow", into_body, VEC_OF, 0, 1);
    expect_vector("of-into-no-overflow", into_no_of_body, NO_EXCEPTION, 0, 0);
    expect_vector("br-bound-out-of-range", bound_body, VEC_BR, 0, 1);
    expect_vector("br-bound-in-range", bound_ok_body, NO_EXCEPTION, 0, 0);
    expect_vector("ud-ud2", ud2_body, VEC_UD, 0, 1);
    expect_vector("ud-lock-register-dest", lock_nop_body, VEC_UD, 0, 1);
    expect_vector("ud-mov-to-cs", mov_cs_body, VEC_UD, 0, 1);

    test_begin("nm-wait-ts-mp");
    u32 cr0 = read_cr0();
    write_cr0(cr0 | CR0_TS | CR0_MP);
    want_eip = 0;
    EXPECT_EQ(catch_exception(wait_body), VEC_NM);
    EXPECT_EQ(last_exception.eip, want_eip);
    write_cr0(cr0 & ~CR0_TS);
    EXPECT_EQ(catch_exception(wait_body), NO_EXCEPTION);   /* TS clear: WAIT is harmless */
    write_cr0(cr0);
    test_end();

    test_begin("db-single-step-trap");
    write_dr6(0);
    want_eip = 0;
    EXPECT_EQ(catch_exception(single_step_body), VEC_DB);
    /* The instruction after the POPF that set TF ran; the trap points at the next one. */
    EXPECT_EQ(last_exception.eip, want_eip);
    EXPECT_EQ(read_dr6() & (1u << 14), 1u << 14);   /* DR6.BS */
    EXPECT_EQ(read_eflags() & EFLAGS_TF, 0);
    test_end();

    test_begin("db-single-step-mov-ss-shadow");
    /* POPF sets TF; the NOP after it traps (resumed by the handler, TF still set); MOV SS then
     * suppresses its own trap, so the next one comes after the instruction following MOV SS. */
    trap_set_handler(VEC_DB, step_over_handler);
    step_count = 0;
    want_eip = 0;
    EXPECT_EQ(catch_exception(mov_ss_step_body), VEC_DB);
    trap_set_handler(VEC_DB, NULL);
    EXPECT_EQ(step_count, 2);                    /* after the first NOP, then after MOV SS; NOP */
    EXPECT_EQ(last_exception.eip, want_eip);
    test_end();
}

static void test_segment_faults(void)
{
    gdt_set(GDT_NP_DATA, 0, 0xFFFFF, DESC_S | DESC_DATA_RW, DESC_G | DESC_DB);            /* P = 0 */
    gdt_set(GDT_XO_CODE, 0, 0xFFFFF, DESC_P | DESC_S | 0x08, DESC_G | DESC_DB);           /* execute-only */
    gdt_set(GDT_RO_DATA, 0, 0xFFFFF, DESC_P | DESC_S | DESC_DATA_RO, DESC_G | DESC_DB);
    gdt_set(GDT_NP_CODE, 0, 0xFFFFF, DESC_S | DESC_CODE_XR, DESC_G | DESC_DB);            /* P = 0 */

    sel_arg = SEL(GDT_NP_DATA, 0);
    expect_vector("np-load-ds", load_ds_body, VEC_NP, SEL(GDT_NP_DATA, 0), 0);
    sel_arg = SEL(GDT_NP_CODE, 0);
    expect_vector("np-far-jmp", far_jmp_body, VEC_NP, SEL(GDT_NP_CODE, 0), 0);
    sel_arg = SEL(GDT_NP_DATA, 0);
    expect_vector("ss-load-not-present", load_ss_body, VEC_SS, SEL(GDT_NP_DATA, 0), 0);

    sel_arg = SEL(GDT_BEYOND, 0) | 3;
    expect_vector("gp-selector-beyond-gdt-limit", load_ds_body, VEC_GP, SEL(GDT_BEYOND, 0), 0);
    sel_arg = SEL(GDT_XO_CODE, 0);
    expect_vector("gp-load-ds-execute-only", load_ds_body, VEC_GP, SEL(GDT_XO_CODE, 0), 0);
    sel_arg = SEL(GDT_RO_DATA, 0);
    expect_vector("gp-load-ss-read-only", load_ss_body, VEC_GP, SEL(GDT_RO_DATA, 0), 0);
    sel_arg = 0;
    expect_vector("gp-load-ss-null", load_ss_body, VEC_GP, 0, 0);
    sel_arg = SEL(GDT_KDATA, 0);
    expect_vector("gp-far-jmp-to-data", far_jmp_body, VEC_GP, SEL(GDT_KDATA, 0), 0);
}

static void test_gates(void)
{
    /* INT n through a not-present gate: #NP with the IDT bit (1) set, EXT clear. */
    struct gate_desc saved = idt[0x41];
    idt[0x41].type_attr &= (u8)~DESC_P;
    expect_vector("np-idt-gate-not-present", int_0x41_body, VEC_NP, 0x41 * 8 + 2, 0);
    idt[0x41] = saved;

    /* A benign exception (#BP) through a missing gate: just #NP, no double fault. */
    saved = idt[VEC_BP];
    idt[VEC_BP].type_attr &= (u8)~DESC_P;
    expect_vector("np-benign-bp-gate-missing", bp_body, VEC_NP, VEC_BP * 8 + 2, 0);
    idt[VEC_BP] = saved;

    /* #GP whose gate is missing: the #NP is contributory on contributory -> #DF(0). */
    saved = idt[VEC_GP];
    idt[VEC_GP].type_attr &= (u8)~DESC_P;
    sel_arg = SEL(GDT_BEYOND, 0);
    expect_vector("df-gp-then-np", load_ds_body, VEC_DF, 0, 0);
    idt[VEC_GP] = saved;

    /* #DE whose gate is a system descriptor of the wrong type: #GP while delivering #DE -> #DF. */
    saved = idt[VEC_DE];
    idt[VEC_DE].type_attr = (u8)((idt[VEC_DE].type_attr & 0xF0) | SYS_LDT);
    expect_vector("df-de-then-gp", de_body, VEC_DF, 0, 0);
    idt[VEC_DE] = saved;

    /* INT n from ring 3 to a DPL-0 gate: #GP(vector * 8 + 2). */
    test_begin("gp-int-gate-dpl-from-ring3");
    extern void user_int41(void);
    EXPECT_EQ(user_run(user_int41, 0), VEC_GP);
    EXPECT_EQ(last_exception.error_code, 0x41 * 8 + 2);
    EXPECT_EQ(last_exception.cs, SEL_UCODE);
    test_end();
}

__asm__(".text\n.globl user_int41\nuser_int41:\n\tint $0x41\n\tud2\n");

int main(u32 magic, const struct multiboot_info *info)
{
    (void)magic; (void)info;
    rt_init();
    test_simple_exceptions();
    test_segment_faults();
    test_gates();
    test_finish();
}
