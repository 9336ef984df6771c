/* cpu-tasks: hardware task switching (SDM vol. 3 chapter 7): JMP to a TSS (busy bits move, the
 * old task's registers are saved and reloaded when it is resumed), CALL to a TSS (back link,
 * EFLAGS.NT, both tasks busy) returning with IRET, INT through a task gate, and a double fault
 * handled by a task gate whose handler repairs the interrupted task's saved EIP and IRETs to it. */
#include "rt.h"

#define GDT_TSS_B (GDT_FIRST_FREE + 0)
#define SEL_TSS_B SEL(GDT_TSS_B, 0)
#define TASK_GATE_VECTOR 0x44
#define GDT_LIMIT_BEYOND SEL(GDT_ENTRIES, 0)

static struct tss32 tss_b __attribute__((aligned(16)));
static u8 task_b_stack[4096] __attribute__((aligned(16)));

/* What task B saw, filled in by task B itself. */
static volatile u32 seen_tr, seen_eflags, seen_back_link, seen_busy_a, seen_busy_b, seen_runs, seen_error;

static u8 desc_type(int index) { return gdt[index].access & 0xf; }

static void task_b_prepare(void (*entry)(void))
{
    memset(&tss_b, 0, sizeof(tss_b));
    tss_b.eip = (u32)entry;
    tss_b.esp = (u32)task_b_stack + sizeof(task_b_stack);
    tss_b.eflags = EFLAGS_FIXED;
    tss_b.cs = SEL_KCODE;
    tss_b.ss = tss_b.ds = tss_b.es = tss_b.fs = tss_b.gs = SEL_KDATA;
    tss_b.cr3 = read_cr3();
    tss_b.iomap_base = (u16)__builtin_offsetof(struct tss32, iomap);
    memset(tss_b.iomap, 0xff, sizeof(tss_b.iomap));
    gdt_set(GDT_TSS_B, (u32)&tss_b, sizeof(tss_b) - 1, DESC_P | SYS_TSS32_AVAIL, 0);
}

static void record_task_state(void)
{
    seen_runs++;
    seen_tr = str();
    seen_eflags = read_eflags();
    seen_back_link = tss_b.prev_task;
    seen_busy_a = desc_type(GDT_TSS);
    seen_busy_b = desc_type(GDT_TSS_B);
}

/* Task B for the JMP test: records, then jumps back to the runtime's task (forever). */
static void task_b_jmp_entry(void)
{
    for (;;) {
        record_task_state();
        __asm__ volatile("ljmp %0, $0" : : "i"(SEL_TSS) : "memory");
    }
}

/* Task B for CALL and task gates: records, then IRET (NT = 1) returns to the caller. */
static void task_b_call_entry(void)
{
    for (;;) {
        record_task_state();
        __asm__ volatile("iretl" : : : "memory");
    }
}

static void test_jmp(void)
{
    test_begin("task-jmp-and-back");
    task_b_prepare(task_b_jmp_entry);
    seen_runs = 0;
    u32 ebx_after, esi_after;
    __asm__ volatile("movl $0x0b0b0b0b, %%ebx; movl $0x5151, %%esi; ljmp %2, $0"
                     : "=b"(ebx_after), "=S"(esi_after) : "i"(SEL_TSS_B) : "memory", "eax", "ecx", "edx", "edi");
    EXPECT_EQ(seen_runs, 1);
    EXPECT_EQ(seen_tr, SEL_TSS_B);
    EXPECT_EQ(seen_busy_a, SYS_TSS32_AVAIL);   /* JMP: the old task is no longer busy */
    EXPECT_EQ(seen_busy_b, SYS_TSS32_BUSY);
    EXPECT_EQ(seen_eflags & EFLAGS_NT, 0);
    EXPECT_EQ(str(), SEL_TSS);
    EXPECT_EQ(desc_type(GDT_TSS), SYS_TSS32_BUSY);
    EXPECT_EQ(desc_type(GDT_TSS_B), SYS_TSS32_AVAIL);
    EXPECT_EQ(ebx_after, 0x0b0b0b0b);          /* restored from the runtime task's TSS */
    EXPECT_EQ(esi_after, 0x5151);
    /* Task B's state was saved in its TSS: it stopped at its JMP back, with its own stack. */
    EXPECT(tss_b.esp <= (u32)task_b_stack + sizeof(task_b_stack) && tss_b.esp > (u32)task_b_stack);
    EXPECT(tss_b.eip != (u32)task_b_jmp_entry);
    EXPECT_EQ(tss_b.cs, SEL_KCODE);
    test_end();
}

static void test_call(void)
{
    test_begin("task-call-iret-nested");
    task_b_prepare(task_b_call_entry);
    seen_runs = 0;
    u32 ebx_after;
    __asm__ volatile("movl $0xcafe, %%ebx; lcall %1, $0" : "=b"(ebx_after) : "i"(SEL_TSS_B) : "memory", "eax", "ecx", "edx", "esi", "edi");
    EXPECT_EQ(seen_runs, 1);
    EXPECT_EQ(seen_tr, SEL_TSS_B);
    EXPECT_EQ(seen_back_link, SEL_TSS);
    EXPECT_EQ(seen_eflags & EFLAGS_NT, EFLAGS_NT);
    EXPECT_EQ(seen_busy_a, SYS_TSS32_BUSY);    /* CALL: the caller stays busy */
    EXPECT_EQ(seen_busy_b, SYS_TSS32_BUSY);
    EXPECT_EQ(str(), SEL_TSS);
    EXPECT_EQ(desc_type(GDT_TSS_B), SYS_TSS32_AVAIL);   /* IRET ended the nested task */
    EXPECT_EQ(read_eflags() & EFLAGS_NT, 0);
    EXPECT_EQ(ebx_after, 0xcafe);
    test_end();

    test_begin("task-gate-int");
    task_b_prepare(task_b_call_entry);
    seen_runs = 0;
    struct gate_desc saved = idt[TASK_GATE_VECTOR];
    gate_set(&idt[TASK_GATE_VECTOR], 0, SEL_TSS_B, SYS_TASK_GATE, 0, 0);
    __asm__ volatile("int %0" : : "i"(TASK_GATE_VECTOR) : "memory");
    idt[TASK_GATE_VECTOR] = saved;
    EXPECT_EQ(seen_runs, 1);
    EXPECT_EQ(seen_tr, SEL_TSS_B);
    EXPECT_EQ(seen_back_link, SEL_TSS);
    EXPECT_EQ(seen_eflags & EFLAGS_NT, EFLAGS_NT);
    EXPECT_EQ(str(), SEL_TSS);
    test_end();

    test_begin("task-call-busy-gp");
    /* CALL to a busy TSS (our own) is #GP with its selector. */
    extern void call_busy_body(void);
    EXPECT_EQ(catch_exception(call_busy_body), VEC_GP);
    EXPECT_EQ(last_exception.error_code, SEL_TSS);
    test_end();
}

__asm__(".text\n.globl call_busy_body\ncall_busy_body:\n\tlcall $0x28, $0\n\tret\n");

/* #DF handler task: reads the error code the CPU pushed on its stack, points the interrupted
 * task past the faulting instruction, restores the #GP gate, and returns with IRET. */
static struct gate_desc saved_gp_gate;
extern u8 df_fault_insn[], df_resume[];
static void task_df_entry(void)
{
    for (;;) {
        u32 error;
        __asm__ volatile("popl %0" : "=r"(error));
        seen_error = error;
        record_task_state();
        tss.eip = (u32)df_resume;
        idt[VEC_GP] = saved_gp_gate;
        __asm__ volatile("iretl" : : : "memory");
    }
}

static void test_double_fault_task(void)
{
    test_begin("double-fault-task-gate");
    task_b_prepare(task_df_entry);
    seen_runs = 0;
    seen_error = 0xffffffff;
    struct gate_desc saved_df = idt[VEC_DF];
    saved_gp_gate = idt[VEC_GP];
    gate_set(&idt[VEC_DF], 0, SEL_TSS_B, SYS_TASK_GATE, 0, 0);
    idt[VEC_GP].type_attr &= (u8)~DESC_P;
    /* Loading DS with a selector past the GDT limit raises #GP; the #GP gate is missing (#NP),
     * so the CPU raises #DF, which switches to task B. */
    __asm__ volatile("movw %0, %%ax\n"
                     ".globl df_fault_insn\ndf_fault_insn:\n\tmovw %%ax, %%ds\n"
                     ".globl df_resume\ndf_resume:\n\tmovw %1, %%ax\n\tmovw %%ax, %%ds"
                     : : "i"(GDT_LIMIT_BEYOND), "i"(SEL_KDATA) : "eax", "memory");
    idt[VEC_DF] = saved_df;
    EXPECT_EQ(seen_runs, 1);
    EXPECT_EQ(seen_error, 0);
    EXPECT_EQ(seen_tr, SEL_TSS_B);
    EXPECT_EQ(seen_back_link, SEL_TSS);
    EXPECT_EQ(str(), SEL_TSS);
    EXPECT_EQ(idt[VEC_GP].type_attr & DESC_P, DESC_P);
    test_end();
}

int main(u32 magic, const struct multiboot_info *info)
{
    (void)magic; (void)info;
    rt_init();
    test_jmp();
    test_call();
    test_double_fault_task();
    test_finish();
}
