/* cpu-segments: segment-level instructions and rules in protected mode: LAR, LSL, VERR, VERW,
 * ARPL; segment-override prefixes with a non-zero base (incl. the source of MOVS); PUSH/POP of
 * segment registers; SMSW/LMSW (LMSW cannot clear PE) and CLTS; POPF privilege rules (IOPL only
 * changes at CPL 0, IF only when CPL <= IOPL, silently); IRET restoring EFLAGS; self-modifying
 * code made visible after a jump. SDM vol. 2 per instruction, vol. 3 sections 5.5-5.10, 8.1.3. */
#include "rt.h"

#define GDT_BASED_DATA (GDT_FIRST_FREE + 0)   /* data segment based at based_buf */
#define GDT_USER_DPL3_CODE_XO (GDT_FIRST_FREE + 1)
#define GDT_NP_DATA (GDT_FIRST_FREE + 2)

static u32 based_buf[16];

struct sel_query { u32 value, zf; };

static struct sel_query lar(u32 sel)
{
    u32 v = 0xdeadbeef, f;
    __asm__ volatile("larl %2, %0; pushfl; popl %1" : "+r"(v), "=r"(f) : "r"(sel) : "cc");
    return (struct sel_query){ v, f & EFLAGS_ZF };
}
static struct sel_query lsl(u32 sel)
{
    u32 v = 0xdeadbeef, f;
    __asm__ volatile("lsll %2, %0; pushfl; popl %1" : "+r"(v), "=r"(f) : "r"(sel) : "cc");
    return (struct sel_query){ v, f & EFLAGS_ZF };
}
static u32 verr(u32 sel) { u32 f; __asm__ volatile("verr %w1; pushfl; popl %0" : "=r"(f) : "r"(sel) : "cc"); return f & EFLAGS_ZF; }
static u32 verw(u32 sel) { u32 f; __asm__ volatile("verw %w1; pushfl; popl %0" : "=r"(f) : "r"(sel) : "cc"); return f & EFLAGS_ZF; }

/* Access-rights bits LAR returns (bits 23:8 of the descriptor's high dword, with limit bits 19:16
 * undefined), minus the accessed bit (8), which the CPU sets when the segment is used, and AVL (20). */
#define LAR_MASK 0x00e0fe00u

static void test_lar_lsl(void)
{
    test_begin("lar");
    struct sel_query q = lar(SEL_KCODE);
    EXPECT_EQ(q.zf, EFLAGS_ZF);
    EXPECT_EQ(q.value & LAR_MASK, 0x00cf9a00 & LAR_MASK);
    q = lar(SEL_UDATA);
    EXPECT_EQ(q.zf, EFLAGS_ZF);
    EXPECT_EQ(q.value & LAR_MASK, 0x00cff200 & LAR_MASK);
    q = lar(SEL_TSS);
    EXPECT_EQ(q.zf, EFLAGS_ZF);
    EXPECT_EQ(q.value & 0x00f0ff00, 0x00008b00);   /* busy 32-bit TSS, byte granular */
    q = lar(0);
    EXPECT_EQ(q.zf, 0);
    EXPECT_EQ(q.value, 0xdeadbeef);                 /* destination unchanged on failure */
    q = lar(SEL(GDT_ENTRIES + 2, 0));               /* beyond the GDT limit */
    EXPECT_EQ(q.zf, 0);
    /* An interrupt gate type is not valid for LAR. */
    gate_set((struct gate_desc *)&gdt[GDT_NP_DATA], 0, SEL_KCODE, SYS_INT_GATE32, 0, 0);
    EXPECT_EQ(lar(SEL(GDT_NP_DATA, 0)).zf, 0);
    test_end();

    test_begin("lsl");
    q = lsl(SEL_KDATA);
    EXPECT_EQ(q.zf, EFLAGS_ZF);
    EXPECT_EQ(q.value, 0xffffffff);                 /* page granular: (limit << 12) | 0xfff */
    q = lsl(SEL_CODE16);
    EXPECT_EQ(q.value, 0xffff);
    q = lsl(SEL_TSS);
    EXPECT_EQ(q.zf, EFLAGS_ZF);
    EXPECT_EQ(q.value, sizeof(tss) - 1);
    gdt_set(GDT_BASED_DATA, (u32)based_buf, sizeof(based_buf) - 1, DESC_P | DESC_S | DESC_DATA_RW, DESC_DB);
    EXPECT_EQ(lsl(SEL(GDT_BASED_DATA, 0)).value, sizeof(based_buf) - 1);
    EXPECT_EQ(lsl(0).zf, 0);
    test_end();
}

static void test_verr_verw_arpl(void)
{
    test_begin("verr-verw");
    gdt_set(GDT_USER_DPL3_CODE_XO, 0, 0xfffff, DESC_P | DESC_DPL(3) | DESC_S | 0x08, DESC_G | DESC_DB);
    gdt_set(GDT_NP_DATA, 0, 0xfffff, DESC_S | DESC_DATA_RW, DESC_G | DESC_DB);
    EXPECT_EQ(verr(SEL_KCODE), EFLAGS_ZF);          /* readable code */
    EXPECT_EQ(verw(SEL_KCODE), 0);                  /* code is never writable */
    EXPECT_EQ(verr(SEL_KDATA), EFLAGS_ZF);
    EXPECT_EQ(verw(SEL_KDATA), EFLAGS_ZF);
    EXPECT_EQ(verr(SEL(GDT_USER_DPL3_CODE_XO, 3)), 0); /* execute-only */
    EXPECT_EQ(verr(SEL(GDT_NP_DATA, 0)), EFLAGS_ZF);   /* presence is not checked */
    EXPECT_EQ(verr(0), 0);
    EXPECT_EQ(verw(SEL_TSS), 0);                    /* system segment */
    test_end();

    test_begin("arpl");
    u32 dst = 0x0010, f;   /* RPL 0 */
    __asm__ volatile("arpl %w2, %w0; pushfl; popl %1" : "+r"(dst), "=r"(f) : "r"(0x0023u) : "cc");
    EXPECT_EQ(dst, 0x0013);
    EXPECT_EQ(f & EFLAGS_ZF, EFLAGS_ZF);
    __asm__ volatile("arpl %w2, %w0; pushfl; popl %1" : "+r"(dst), "=r"(f) : "r"(0x0001u) : "cc");
    EXPECT_EQ(dst, 0x0013);
    EXPECT_EQ(f & EFLAGS_ZF, 0);
    test_end();
}

static void test_overrides(void)
{
    test_begin("segment-override-base");
    for (u32 i = 0; i < ARRAY_SIZE(based_buf); i++)
        based_buf[i] = 0x1000 + i;
    gdt_set(GDT_BASED_DATA, (u32)based_buf, sizeof(based_buf) - 1, DESC_P | DESC_S | DESC_DATA_RW, DESC_DB);
    u32 v1, v2, v3;
    __asm__ volatile("movw %w3, %%fs; movl %%fs:8, %0; movw %w3, %%gs; movl $2, %%eax; movl %%gs:(,%%eax,4), %1\n\t"
                     "movl $0xabcd, %%fs:12; movl %%fs:12, %2"
                     : "=r"(v1), "=r"(v2), "=r"(v3) : "r"((u32)SEL(GDT_BASED_DATA, 0)) : "eax", "memory");
    EXPECT_EQ(v1, 0x1002);
    EXPECT_EQ(v2, 0x1002);
    EXPECT_EQ(v3, 0xabcd);
    EXPECT_EQ(peek32(&based_buf[3]), 0xabcd);
    /* MOVS: the source segment can be overridden, the destination is always ES. */
    u32 out[2] = { 0, 0 };
    u32 s = 4, d = (u32)out, c = 2;
    __asm__ volatile("movw %w3, %%fs; cld; rep movsl %%fs:(%%esi), %%es:(%%edi)"
                     : "+S"(s), "+D"(d), "+c"(c) : "r"((u32)SEL(GDT_BASED_DATA, 0)) : "memory");
    EXPECT_EQ(out[0], 0x1001);
    EXPECT_EQ(out[1], 0x1002);
    write_fs(SEL_KDATA);
    write_gs(SEL_KDATA);
    test_end();

    test_begin("push-pop-segment-registers");
    u32 esp0, esp1, popped;
    __asm__ volatile("movl %%esp, %0; pushl %%ds; movl %%esp, %1; popl %2"
                     : "=&r"(esp0), "=&r"(esp1), "=r"(popped) : : "memory");
    EXPECT_EQ(esp0 - esp1, 4);
    EXPECT_EQ(popped & 0xffff, SEL_KDATA);
    u16 fs_after;
    __asm__ volatile("pushl %1; popl %%fs; movw %%fs, %0" : "=r"(fs_after) : "i"((u32)SEL(GDT_BASED_DATA, 0)) : "memory");
    EXPECT_EQ(fs_after, SEL(GDT_BASED_DATA, 0));
    write_fs(SEL_KDATA);
    test_end();
}

static void test_msw(void)
{
    test_begin("smsw-lmsw-clts");
    u32 cr0 = read_cr0();
    u32 msw;
    __asm__ volatile("smsw %0" : "=r"(msw));
    EXPECT_EQ(msw & 0xffff, cr0 & 0xffff);
    /* LMSW loads PE MP EM TS but cannot clear PE. */
    __asm__ volatile("lmsw %w0" : : "r"((cr0 & 0xfff0) | CR0_TS | CR0_MP) : "memory");
    EXPECT_EQ(read_cr0() & (CR0_PE | CR0_TS | CR0_MP), CR0_PE | CR0_TS | CR0_MP);
    __asm__ volatile("clts" : : : "memory");
    EXPECT_EQ(read_cr0() & CR0_TS, 0);
    write_cr0(cr0);
    test_end();
}

/* Ring-3 POPF probes: try to set IF and IOPL 3, report what stuck in EBX via INT 0x80. */
void user_popf_probe(void);
__asm__(".text\n.globl user_popf_probe\nuser_popf_probe:\n"
        "\tpushfl\n\torl $0x3200, (%esp)\n\tpopfl\n\tpushfl\n\tpopl %ebx\n\txorl %eax, %eax\n\tint $0x80\n");

static void test_popf_rules(void)
{
    test_begin("popf-cpl3-iopl0");
    EXPECT_EQ(user_run(user_popf_probe, 0), USER_EXIT_VECTOR);
    EXPECT_EQ(user_exit_frame.ebx & (EFLAGS_IF | EFLAGS_IOPL), 0);   /* both ignored, no fault */
    test_end();
    test_begin("popf-cpl3-iopl3");
    EXPECT_EQ(user_run(user_popf_probe, EFLAGS_IOPL), USER_EXIT_VECTOR);
    /* IF may change (CPL <= IOPL); IOPL keeps its value 3. */
    EXPECT_EQ(user_exit_frame.ebx & (EFLAGS_IF | EFLAGS_IOPL), EFLAGS_IF | EFLAGS_IOPL);
    test_end();
    test_begin("popf-cpl0");
    u32 before = read_eflags();
    write_eflags(before | EFLAGS_IOPL);
    EXPECT_EQ(read_eflags() & EFLAGS_IOPL, EFLAGS_IOPL);
    write_eflags(before & ~EFLAGS_IOPL);
    EXPECT_EQ(read_eflags() & EFLAGS_IOPL, 0);
    /* VM and RF are not changed by POPF. */
    write_eflags(before | EFLAGS_VM);
    EXPECT_EQ(read_eflags() & EFLAGS_VM, 0);
    write_eflags(before);
    test_end();
}

static volatile u32 iret_seen_eflags;
static void int_0x42_handler(struct trap_frame *f)
{
    iret_seen_eflags = f->eflags;
    f->eflags |= EFLAGS_CF | EFLAGS_DF;   /* IRET loads the modified EFLAGS */
}

static void test_iret(void)
{
    test_begin("int-iret-eflags");
    idt_set_default(0x42, SYS_INT_GATE32, 0);
    trap_set_handler(0x42, int_0x42_handler);
    u32 after;
    __asm__ volatile("pushl $0x202; popfl; int $0x42; pushfl; popl %0; cld; cli" : "=r"(after) : : "memory", "cc");
    EXPECT_EQ(iret_seen_eflags & (EFLAGS_IF | EFLAGS_CF), EFLAGS_IF);
    EXPECT_EQ(after & (EFLAGS_IF | EFLAGS_CF | EFLAGS_DF), EFLAGS_IF | EFLAGS_CF | EFLAGS_DF);
    trap_set_handler(0x42, NULL);
    test_end();

    test_begin("trap-gate-keeps-if");
    /* An interrupt gate clears IF in the handler; a trap gate does not. */
    idt_set_default(0x43, SYS_TRAP_GATE32, 0);
    extern void read_if_handler(struct trap_frame *f);
    trap_set_handler(0x43, read_if_handler);
    __asm__ volatile("pushl $0x202; popfl; int $0x43; cli" : : : "memory", "cc");
    trap_set_handler(0x42, read_if_handler);
    __asm__ volatile("pushl $0x202; popfl; int $0x42; cli" : : : "memory", "cc");
    extern volatile u32 if_in_handler[2];
    EXPECT_EQ(if_in_handler[0], EFLAGS_IF);   /* trap gate */
    EXPECT_EQ(if_in_handler[1], 0);           /* interrupt gate */
    trap_set_handler(0x42, NULL);
    trap_set_handler(0x43, NULL);
    test_end();
}

volatile u32 if_in_handler[2];
void read_if_handler(struct trap_frame *f)
{
    if_in_handler[f->vector == 0x43 ? 0 : 1] = read_eflags() & EFLAGS_IF;
}

/* Self-modifying code: a store to an instruction that is executed after a jump must be seen. */
void smc_site(void);
u32 smc_run(void);
__asm__(".text\n.globl smc_run\nsmc_run:\n\tjmp 1f\n1:\n.globl smc_site\nsmc_site:\n\tmovl $0x11111111, %eax\n\tret\n");

static void test_smc(void)
{
    test_begin("self-modifying-code");
    EXPECT_EQ(smc_run(), 0x11111111);
    /* MOV EAX, imm32 is B8 followed by the immediate. */
    volatile u8 *imm = (volatile u8 *)smc_site + 1;
    imm[0] = 0x44; imm[1] = 0x33; imm[2] = 0x22; imm[3] = 0x11;
    EXPECT_EQ(smc_run(), 0x11223344);
    imm[0] = 0x11; imm[1] = 0x11; imm[2] = 0x11; imm[3] = 0x11;
    EXPECT_EQ(smc_run(), 0x11111111);
    /* Replacing the opcode: MOV EAX, imm32 becomes MOV ECX, imm32 (B9), EAX then keeps 0. */
    u32 r;
    ((volatile u8 *)smc_site)[0] = 0xb9;
    __asm__ volatile("xorl %%eax, %%eax; call smc_run" : "=a"(r) : : "ecx", "edx", "memory");
    ((volatile u8 *)smc_site)[0] = 0xb8;
    EXPECT_EQ(r, 0);
    EXPECT_EQ(smc_run(), 0x11111111);
    test_end();
}

int main(u32 magic, const struct multiboot_info *info)
{
    (void)magic; (void)info;
    rt_init();
    test_lar_lsl();
    test_verr_verw_arpl();
    test_overrides();
    test_msw();
    test_popf_rules();
    test_iret();
    test_smc();
    test_finish();
}
