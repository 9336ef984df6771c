/* cpu-system: far JMP/CALL/RET through the GDT, ring 3 entered by IRET and left by an INT
 * through a DPL-3 interrupt gate (TSS stack switch), a call gate, SYSENTER/SYSEXIT, privileged
 * instructions in ring 3 (#GP), the TSS I/O bitmap, LGDT/LIDT/LTR/LLDT, CR0/CR3/CR4 and debug
 * registers (with execute and write breakpoints), CPUID, RDTSC (and CR4.TSD), RDMSR/WRMSR,
 * IN/OUT/INS/OUTS, HLT woken by a PIT interrupt, and the STI interrupt shadow.
 * SDM vol. 3 chapters 2, 5, 6, 7, 17. */
#include "rt.h"

#define SYSCALL_VECTOR 0x80
#define GDT_ALIAS_CODE GDT_FIRST_FREE        /* a second flat ring-0 code segment */
#define GDT_CALL_GATE (GDT_FIRST_FREE + 1)
#define GDT_LDT (GDT_FIRST_FREE + 2)
#define GDT_TSS2 (GDT_FIRST_FREE + 3)
#define SEL_ALIAS_CODE SEL(GDT_ALIAS_CODE, 0)

static u8 user_stack[4096] __attribute__((aligned(16)));
#define USER_STACK_TOP ((u32)user_stack + sizeof(user_stack))

void user_syscalls(void), user_cli(void), user_hlt(void), user_out80(void), user_load_kdata(void);
void user_rdtsc(void), user_mov_cr0(void), user_call_gate(void), user_sysenter(void);
void gate_target(void), sysenter_target(void);
void user_out80_insn(void), user_load_kdata_insn(void);
void far_transfers(u32 *out, u32 sel);
extern u16 call_gate_sel;
extern volatile u32 gate_seen[8], sysenter_seen[4];

/* --- syscall handler --------------------------------------------------------------------- */

static struct trap_frame last_syscall;

/* INT 0x80 from ring 3: EAX != 0 returns EAX + 1 to the caller; EAX == 0 ends the user run. */
static void syscall_handler(struct trap_frame *f)
{
    last_syscall = *f;
    if (f->eax == 0)
        trap_catch_return(SYSCALL_VECTOR);
    f->eax++;
}

static void (*user_entry)(void);
static u32 user_eflags;
static void run_user_body(void) { enter_user(user_entry, USER_STACK_TOP, user_eflags); }

/* Runs entry in ring 3; returns the vector that ended it (SYSCALL_VECTOR for a clean exit). */
static int run_user(void (*entry)(void), u32 eflags)
{
    user_entry = entry;
    user_eflags = eflags;
    memset(&last_syscall, 0, sizeof(last_syscall));
    return catch_exception(run_user_body);
}

/* --- far transfers ------------------------------------------------------------------------ */

static void test_far(void)
{
    test_begin("far-jmp-call-ret");
    gdt_set(GDT_ALIAS_CODE, 0, 0xFFFFF, DESC_P | DESC_S | DESC_CODE_XR, DESC_G | DESC_DB);
    u32 out[4] = { 0, 0, 0, 0 };
    far_transfers(out, SEL_ALIAS_CODE);
    EXPECT_EQ(out[0], SEL_ALIAS_CODE);
    EXPECT_EQ(out[1], SEL_ALIAS_CODE);
    EXPECT_EQ(out[2], 0);      /* push 4, CALL pushes 8, RET 4 pops 12 */
    EXPECT_EQ(out[3], SEL_KCODE);
    EXPECT_EQ(read_cs(), SEL_KCODE);
    test_end();
}

/* --- ring 3 ------------------------------------------------------------------------------- */

static void test_ring3_syscall(void)
{
    test_begin("ring3-iret-int-gate");
    int v = run_user(user_syscalls, EFLAGS_FIXED);
    EXPECT_EQ(v, SYSCALL_VECTOR);
    EXPECT_EQ(last_syscall.ebx, 42);              /* the first INT returned to ring 3 */
    EXPECT_EQ(last_syscall.esi & 0xffff, SEL_UCODE);
    EXPECT_EQ(last_syscall.edi & 0xffff, SEL_UDATA);
    EXPECT_EQ(last_syscall.cs & 0xffff, SEL_UCODE);
    EXPECT_EQ(last_syscall.user_ss & 0xffff, SEL_UDATA);
    EXPECT_EQ(last_syscall.user_esp, USER_STACK_TOP);
    EXPECT_EQ(last_syscall.eflags & EFLAGS_IF, 0);
    test_end();
}

static volatile u32 syscall_frame_end;
static void syscall_probe_handler(struct trap_frame *f)
{
    syscall_frame_end = (u32)f + sizeof(*f);
    syscall_handler(f);
}

static void test_ring3_stack(void)
{
    test_begin("ring3-tss-esp0-stack-switch");
    trap_set_handler(SYSCALL_VECTOR, syscall_probe_handler);
    int v = run_user(user_syscalls, EFLAGS_FIXED);
    EXPECT_EQ(v, SYSCALL_VECTOR);
    EXPECT_EQ(syscall_frame_end, tss.esp0);  /* SS, ESP, EFLAGS, CS, EIP pushed from ESP0 down */
    trap_set_handler(SYSCALL_VECTOR, syscall_handler);
    test_end();
}

static void expect_user_gp(const char *name, void (*entry)(void), void (*insn)(void), u32 eflags, u32 error)
{
    test_begin(name);
    int v = run_user(entry, eflags);
    EXPECT_EQ(v, VEC_GP);
    EXPECT_EQ(last_exception.error_code, error);
    EXPECT_EQ(last_exception.cs & 0xffff, SEL_UCODE);
    EXPECT(last_exception.eip == (u32)insn);   /* a fault: EIP of the faulting instruction */
    EXPECT_EQ(last_exception.ss & 0xffff, SEL_UDATA);
    test_end();
}

static void test_ring3_privilege(void)
{
    expect_user_gp("ring3-cli-gp", user_cli, user_cli, EFLAGS_FIXED, 0);
    expect_user_gp("ring3-hlt-gp", user_hlt, user_hlt, EFLAGS_FIXED, 0);
    expect_user_gp("ring3-mov-cr0-gp", user_mov_cr0, user_mov_cr0, EFLAGS_FIXED, 0);
    expect_user_gp("ring3-load-kernel-ds-gp", user_load_kdata, user_load_kdata_insn, EFLAGS_FIXED, SEL_KDATA);

    /* IOPL 0: the I/O bitmap decides. */
    expect_user_gp("ring3-out-bitmap-deny", user_out80, user_out80_insn, EFLAGS_FIXED, 0);
    test_begin("ring3-out-bitmap-allow");
    iomap_allow(0x80, 1);
    EXPECT_EQ(run_user(user_out80, EFLAGS_FIXED), SYSCALL_VECTOR);
    iomap_allow(0x80, 0);
    test_end();
    test_begin("ring3-out-iopl3");
    EXPECT_EQ(run_user(user_out80, EFLAGS_FIXED | EFLAGS_IOPL), SYSCALL_VECTOR);
    test_end();
    test_begin("ring3-cli-iopl3");
    EXPECT_EQ(run_user(user_cli, EFLAGS_FIXED | EFLAGS_IOPL), VEC_UD);   /* CLI passes, UD2 follows */
    test_end();

    test_begin("ring3-rdtsc-cr4-tsd");
    EXPECT_EQ(run_user(user_rdtsc, EFLAGS_FIXED), SYSCALL_VECTOR);
    write_cr4(read_cr4() | CR4_TSD);
    EXPECT_EQ(run_user(user_rdtsc, EFLAGS_FIXED), VEC_GP);
    rdtsc();   /* still allowed at CPL 0 */
    write_cr4(read_cr4() & ~CR4_TSD);
    test_end();
}

static void test_call_gate(void)
{
    test_begin("call-gate-ring3-to-ring0");
    gate_set((struct gate_desc *)&gdt[GDT_CALL_GATE], (u32)gate_target, SEL_KCODE, SYS_CALL_GATE32, 3, 2);
    call_gate_sel = SEL(GDT_CALL_GATE, 3);
    int v = run_user(user_call_gate, EFLAGS_FIXED);
    EXPECT_EQ(v, SYSCALL_VECTOR);
    EXPECT_EQ(gate_seen[0] & 0xffff, SEL_KCODE);
    EXPECT_EQ(gate_seen[2] & 0xffff, SEL_UCODE);
    EXPECT_EQ(gate_seen[3], 0x22220000);
    EXPECT_EQ(gate_seen[4], 0x11110000);
    EXPECT_EQ(gate_seen[5], last_syscall.esi);        /* caller ESP at the call */
    EXPECT_EQ(gate_seen[6] & 0xffff, SEL_UDATA);
    EXPECT_EQ(gate_seen[7] + 24, tss.esp0);           /* 6 dwords on the new stack */
    EXPECT_EQ(last_syscall.edi, last_syscall.esi + 8); /* RET 8 released the parameters */
    EXPECT_EQ(last_syscall.ebx & 0xffff, SEL_UCODE);
    test_end();

    test_begin("call-gate-dpl-check");
    /* A DPL-0 gate is not reachable from ring 3: #GP with the gate's selector. */
    gate_set((struct gate_desc *)&gdt[GDT_CALL_GATE], (u32)gate_target, SEL_KCODE, SYS_CALL_GATE32, 0, 2);
    v = run_user(user_call_gate, EFLAGS_FIXED);
    EXPECT_EQ(v, VEC_GP);
    EXPECT_EQ(last_exception.error_code, SEL(GDT_CALL_GATE, 0));
    test_end();
}

static void test_sysenter(void)
{
    test_begin("sysenter-sysexit");
    static u8 sysenter_stack[1024] __attribute__((aligned(16)));
    u32 esp = (u32)sysenter_stack + sizeof(sysenter_stack);
    wrmsr(MSR_IA32_SYSENTER_CS, SEL_KCODE);
    wrmsr(MSR_IA32_SYSENTER_ESP, esp);
    wrmsr(MSR_IA32_SYSENTER_EIP, (u32)sysenter_target);
    int v = run_user(user_sysenter, EFLAGS_FIXED);
    EXPECT_EQ(v, SYSCALL_VECTOR);
    EXPECT_EQ(sysenter_seen[0] & 0xffff, SEL_KCODE);
    EXPECT_EQ(sysenter_seen[1] & 0xffff, SEL_KDATA);  /* SYSENTER_CS + 8 */
    EXPECT_EQ(sysenter_seen[2], esp);
    EXPECT_EQ(sysenter_seen[3], 0x5157);
    EXPECT_EQ(last_syscall.esi & 0xffff, SEL_UCODE);  /* SYSENTER_CS + 16, RPL 3 */
    EXPECT_EQ(last_syscall.edi & 0xffff, SEL_UDATA);  /* SYSENTER_CS + 24, RPL 3 */
    EXPECT_EQ(last_syscall.user_esp, USER_STACK_TOP);
    test_end();
}

/* --- descriptor-table registers -------------------------------------------------------------- */

static struct seg_desc gdt_copy[GDT_ENTRIES] __attribute__((aligned(8)));
static struct seg_desc ldt[4] __attribute__((aligned(8)));
static volatile u32 ldt_probe[2];
static struct tss32 tss2;

static void ltr_busy_body(void) { ltr(SEL_TSS); }
static void lldt_bad_body(void) { lldt(SEL_KDATA); }

static void test_tables(void)
{
    test_begin("lgdt-sgdt-lidt-sidt");
    struct dtr g, i, g2;
    sgdt(&g);
    sidt(&i);
    EXPECT_EQ(g.base, (u32)gdt);
    EXPECT_EQ(g.limit, sizeof(gdt) - 1);
    EXPECT_EQ(i.base, (u32)idt);
    EXPECT_EQ(i.limit, 256 * 8 - 1);
    memcpy(gdt_copy, gdt, sizeof(gdt));
    struct dtr ng = { sizeof(gdt_copy) - 1, (u32)gdt_copy };
    lgdt(&ng);
    sgdt(&g2);
    EXPECT_EQ(g2.base, (u32)gdt_copy);
    /* Reloading a segment register now reads the copy. */
    write_es(SEL_KDATA);
    EXPECT_EQ(read_es(), SEL_KDATA);
    lgdt(&g);
    /* A zero-limit IDT makes INT3 fault with... a triple fault, so only round-trip LIDT here. */
    struct dtr ni = { 0x7ff, (u32)idt }, i2;
    lidt(&ni);
    sidt(&i2);
    EXPECT_EQ(i2.limit, 0x7ff);
    lidt(&i);
    test_end();

    test_begin("lldt-ldt-segment");
    ldt_probe[0] = 0x1dd1;
    ldt_probe[1] = 0x2ee2;
    memset(ldt, 0, sizeof(ldt));
    /* LDT entry 1: a data segment based at ldt_probe. */
    struct seg_desc save = gdt[GDT_LDT];
    struct seg_desc *d = &ldt[1];
    u32 base = (u32)ldt_probe;
    d->limit_lo = 7; d->base_lo = base & 0xffff; d->base_mid = (base >> 16) & 0xff;
    d->access = DESC_P | DESC_S | DESC_DATA_RW; d->flags_limit_hi = (DESC_DB << 4); d->base_hi = base >> 24;
    gdt_set(GDT_LDT, (u32)ldt, sizeof(ldt) - 1, DESC_P | SYS_LDT, 0);
    lldt(SEL(GDT_LDT, 0));
    EXPECT_EQ(sldt(), SEL(GDT_LDT, 0));
    u32 got;
    __asm__ volatile("movw %w1, %%fs; movl %%fs:4, %0" : "=r"(got) : "r"((u32)(SEL(1, 0) | SEL_TI_LDT)));
    EXPECT_EQ(got, 0x2ee2);
    write_fs(SEL_KDATA);
    lldt(0);
    EXPECT_EQ(catch_exception(lldt_bad_body), VEC_GP);   /* not an LDT descriptor */
    EXPECT_EQ(last_exception.error_code, SEL_KDATA);
    gdt[GDT_LDT] = save;
    test_end();

    test_begin("ltr-str-busy");
    EXPECT_EQ(str(), SEL_TSS);
    EXPECT_EQ(gdt[GDT_TSS].access & 0xf, SYS_TSS32_BUSY);
    EXPECT_EQ(catch_exception(ltr_busy_body), VEC_GP);   /* LTR of a busy TSS */
    EXPECT_EQ(last_exception.error_code, SEL_TSS);
    memset(&tss2, 0, sizeof(tss2));
    tss2.ss0 = SEL_KDATA;
    tss2.esp0 = tss.esp0;
    tss2.iomap_base = sizeof(tss2);
    gdt_set(GDT_TSS2, (u32)&tss2, 0x67, DESC_P | SYS_TSS32_AVAIL, 0);
    ltr(SEL(GDT_TSS2, 0));
    EXPECT_EQ(str(), SEL(GDT_TSS2, 0));
    EXPECT_EQ(gdt[GDT_TSS2].access & 0xf, SYS_TSS32_BUSY);
    /* Back to the runtime's TSS: clear its busy bit first. */
    gdt[GDT_TSS].access = DESC_P | SYS_TSS32_AVAIL;
    ltr(SEL_TSS);
    gdt[GDT_TSS2].access = 0;
    EXPECT_EQ(str(), SEL_TSS);
    test_end();
}

/* --- control and debug registers ---------------------------------------------------------------- */

static volatile u32 watched;
static void write_watched(void) { watched = 0x77; }
void bp_target(void);
static void exec_bp_body(void) { __asm__ volatile(".globl bp_target\nbp_target: nop"); }

static void test_control_regs(void)
{
    test_begin("cr0-cr2-cr3-cr4");
    u32 cr0 = read_cr0();
    EXPECT_EQ(cr0 & (CR0_PE | CR0_PG), CR0_PE);
    EXPECT_EQ(cr0 & CR0_ET, CR0_ET);   /* hard-wired to 1 since the i486 */
    write_cr0(cr0 | CR0_WP);
    EXPECT_EQ(read_cr0() & CR0_WP, CR0_WP);
    write_cr0(cr0 & ~CR0_WP);
    EXPECT_EQ(read_cr0() & CR0_WP, 0);
    write_cr0(cr0);
    write_cr2(0x12345678);
    EXPECT_EQ(read_cr2(), 0x12345678);
    u32 cr3 = read_cr3();
    write_cr3(0x00234000);
    EXPECT_EQ(read_cr3(), 0x00234000);
    write_cr3(cr3);
    u32 cr4 = read_cr4();
    write_cr4(cr4 | CR4_PSE | CR4_DE);
    EXPECT_EQ(read_cr4() & (CR4_PSE | CR4_DE), CR4_PSE | CR4_DE);
    write_cr4(cr4);
    test_end();

    test_begin("debug-registers");
    write_dr0(0x1000); write_dr1(0x2000); write_dr2(0x3000); write_dr3(0x4000);
    EXPECT_EQ(read_dr0(), 0x1000);
    EXPECT_EQ(read_dr1(), 0x2000);
    EXPECT_EQ(read_dr2(), 0x3000);
    EXPECT_EQ(read_dr3(), 0x4000);
    write_dr7(0x00000400);
    EXPECT_EQ(read_dr7() & 0xffff27ff, 0x00000400);
    test_end();

    test_begin("debug-breakpoints");
    /* An execute breakpoint faults before the instruction (DR7 L0, R/W0 = 00, LEN0 = 00). */
    write_dr6(0);
    write_dr0((u32)bp_target);
    write_dr7(0x400 | 0x1);
    int v = catch_exception(exec_bp_body);
    write_dr7(0x400);
    EXPECT_EQ(v, VEC_DB);
    EXPECT(last_exception.eip == (u32)bp_target);
    EXPECT_EQ(read_dr6() & 0xf, 0x1);
    /* A data write breakpoint traps after the write (R/W1 = 01, LEN1 = 11: 4 bytes). */
    write_dr6(0);
    watched = 0;
    write_dr1((u32)&watched);
    write_dr7(0x400 | (1u << 2) | (0xdu << 20));
    v = catch_exception(write_watched);
    write_dr7(0x400);
    EXPECT_EQ(v, VEC_DB);
    EXPECT_EQ(watched, 0x77);
    EXPECT_EQ(read_dr6() & 0xf, 0x2);
    test_end();
}

/* --- identification and MSRs --------------------------------------------------------------------- */

static u64 tsc_a, tsc_b;

static void test_cpuid_tsc_msr(void)
{
    test_begin("cpuid");
    u32 a, b, c, d;
    cpuid(0, &a, &b, &c, &d);
    EXPECT(a >= 1);
    u32 vendor[3] = { b, d, c };
    const u8 *s = (const u8 *)vendor;
    for (int i = 0; i < 12; i++)
        if (s[i] < 0x20 || s[i] > 0x7e)
            test_failf("vendor byte %d is 0x%x", i, s[i]);
    cpuid(1, &a, &b, &c, &d);
    EXPECT_EQ((a >> 8) & 0xf, 6);            /* family 6: a P6 */
    EXPECT(d & (1u << 4));                   /* TSC */
    EXPECT(d & (1u << 5));                   /* MSR */
    EXPECT(d & (1u << 8));                   /* CX8 */
    EXPECT(d & (1u << 15));                  /* CMOV */
    /* The ID flag can be toggled: CPUID exists. */
    u32 f = read_eflags();
    write_eflags(f ^ EFLAGS_ID);
    EXPECT_EQ((read_eflags() ^ f) & EFLAGS_ID, EFLAGS_ID);
    write_eflags(f);
    test_end();

    test_begin("rdtsc-monotonic");
    tsc_a = rdtsc();
    for (volatile int i = 0; i < 100; i++)
        ;
    tsc_b = rdtsc();
    EXPECT(tsc_b > tsc_a);
    EXPECT(rdtsc() > tsc_b);
    test_end();

    test_begin("rdmsr-wrmsr");
    wrmsr(MSR_IA32_SYSENTER_CS, 0x1234);
    wrmsr(MSR_IA32_SYSENTER_ESP, 0x89abcdef);
    wrmsr(MSR_IA32_SYSENTER_EIP, 0x00c0ffee);
    EXPECT_EQ64(rdmsr(MSR_IA32_SYSENTER_CS), 0x1234);
    EXPECT_EQ64(rdmsr(MSR_IA32_SYSENTER_ESP), 0x89abcdef);
    EXPECT_EQ64(rdmsr(MSR_IA32_SYSENTER_EIP), 0x00c0ffee);
    /* #GP on an unknown MSR is in the cpu-msr-gp guest: QEMU TCG does not raise it. */
    test_end();
}

/* --- port I/O ------------------------------------------------------------------------------------- */

#define COM1_SCR (COM1_BASE + 7)

static void test_port_io(void)
{
    static const char msg[] = "rep outsb to COM1\n";
    test_begin("rep-outsb-com1");
    u32 s = (u32)msg, c = sizeof(msg) - 1;
    /* The UART's transmit FIFO is not polled here: QEMU and tskvm accept bytes at once. */
    __asm__ volatile("cld; rep outsb" : "+S"(s), "+c"(c) : "d"(COM1_BASE) : "memory");
    EXPECT_EQ(c, 0);
    EXPECT_EQ(s, (u32)msg + sizeof(msg) - 1);
    test_end();

    test_begin("in-out-ins-scratch");
    outb(COM1_SCR, 0xa5);
    EXPECT_EQ(inb(COM1_SCR), 0xa5);
    u8 buf[4] = { 0, 0, 0, 0 };
    outb(COM1_SCR, 0x3c);
    u32 d = (u32)buf;
    c = 3;
    __asm__ volatile("cld; rep insb" : "+D"(d), "+c"(c) : "d"(COM1_SCR) : "memory");
    EXPECT(buf[0] == 0x3c && buf[1] == 0x3c && buf[2] == 0x3c && buf[3] == 0);
    EXPECT_EQ(d, (u32)buf + 3);
    /* LCR reads back what was written (8N1 = 0x03); IER too. */
    EXPECT_EQ(inb(COM1_BASE + 3), 0x03);
    outb(COM1_BASE + 1, 0x00);
    EXPECT_EQ(inb(COM1_BASE + 1), 0x00);
    test_end();
}

/* --- interrupts ------------------------------------------------------------------------------------- */

static volatile u32 ticks, irq_eip;

static void timer_handler(struct trap_frame *f)
{
    ticks++;
    irq_eip = f->eip;
    pic_eoi(PIT_IRQ);
}

#define PIC_OCW3_READ_IRR 0x0a
static int irq0_pending(void)
{
    outb(PIC1_CMD, PIC_OCW3_READ_IRR);
    return inb(PIC1_CMD) & 1;
}

void sti_shadow_after(void);
static void test_interrupts(void)
{
    pic_remap();
    trap_set_handler(PIC_VECTOR_BASE + PIT_IRQ, timer_handler);

    test_begin("hlt-pit-wakeup");
    ticks = 0;
    pit_periodic(11932);   /* 100 Hz */
    pic_unmask(PIT_IRQ);
    __asm__ volatile("sti; hlt; cli" : : : "memory");
    EXPECT(ticks >= 1);
    pic_mask(PIT_IRQ);
    test_end();

    test_begin("sti-interrupt-shadow");
    /* Make IRQ0 pending with IF=0, then STI: the interrupt is taken only after the next
     * instruction, so the saved EIP is the one after that instruction. */
    cli();
    ticks = 0;
    pit_oneshot(200);
    pic_unmask(PIT_IRQ);
    int spins = 0;
    while (!irq0_pending() && spins < 1000000)
        spins++;
    EXPECT(irq0_pending());
    __asm__ volatile("sti\n\tmovl $1, %%eax\n\t.globl sti_shadow_after\nsti_shadow_after:\n\tnop\n\tcli"
                     : : : "eax", "memory");
    EXPECT_EQ(ticks, 1);
    EXPECT(irq_eip == (u32)sti_shadow_after);
    pic_mask(PIT_IRQ);
    test_end();

    test_begin("cli-blocks-interrupts");
    ticks = 0;
    pit_oneshot(200);
    pic_unmask(PIT_IRQ);
    spins = 0;
    while (!irq0_pending() && spins < 1000000)
        spins++;
    EXPECT_EQ(ticks, 0);          /* pending but not delivered while IF=0 */
    sti();
    __asm__ volatile("nop");
    cli();
    EXPECT_EQ(ticks, 1);
    pic_mask(PIT_IRQ);
    test_end();
    trap_set_handler(PIC_VECTOR_BASE + PIT_IRQ, NULL);
}

int main(u32 magic, const struct multiboot_info *info)
{
    (void)magic; (void)info;
    rt_init();
    idt_set_default(SYSCALL_VECTOR, SYS_INT_GATE32, 3);
    trap_set_handler(SYSCALL_VECTOR, syscall_handler);
    test_far();
    test_ring3_syscall();
    test_ring3_stack();
    test_ring3_privilege();
    test_call_gate();
    test_sysenter();
    test_tables();
    test_control_regs();
    test_cpuid_tsc_msr();
    test_port_io();
    test_interrupts();
    test_finish();
}
