/* Running code in ring 3 (SDM vol. 3 section 6.12.1): enter by IRET with a ring-3 frame, leave by
 * INT USER_EXIT_VECTOR through a DPL-3 interrupt gate, which switches to TSS.ESP0. */
#ifndef RT_USER_H
#define RT_USER_H
#include "types.h"
#include "trap.h"

#define USER_EXIT_VECTOR 0x80

/* IRET to entry at CPL 3 with the given ESP and EFLAGS; never returns by itself. */
void enter_user(void (*entry)(void), u32 esp, u32 eflags) __attribute__((noreturn));
/* Runs entry in ring 3 on the runtime's user stack until it executes INT USER_EXIT_VECTOR
 * (returns USER_EXIT_VECTOR, with the registers it had then in user_exit_frame) or raises an
 * exception (returns its vector; details in last_exception). */
int user_run(void (*entry)(void), u32 eflags);
extern struct trap_frame user_exit_frame;
extern u8 *const user_stack_top_ptr;
#endif
