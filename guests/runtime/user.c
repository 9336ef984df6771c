/* user_run(): ring-3 execution on top of catch_exception(). */
#include "user.h"
#include "cpu.h"
#include "desc.h"

struct trap_frame user_exit_frame;
static u8 user_stack[8192] __attribute__((aligned(16)));
u8 *const user_stack_top_ptr = user_stack + sizeof(user_stack);
static void (*pending_entry)(void);
static u32 pending_eflags;

static void user_exit_handler(struct trap_frame *f)
{
    user_exit_frame = *f;
    trap_catch_return(USER_EXIT_VECTOR);
}

static void user_body(void)
{
    enter_user(pending_entry, (u32)user_stack_top_ptr, pending_eflags);
}

int user_run(void (*entry)(void), u32 eflags)
{
    idt_set_default(USER_EXIT_VECTOR, SYS_INT_GATE32, 3);
    trap_set_handler(USER_EXIT_VECTOR, user_exit_handler);
    pending_entry = entry;
    pending_eflags = eflags | EFLAGS_FIXED;
    return catch_exception(user_body);
}
