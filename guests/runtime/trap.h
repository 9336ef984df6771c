/* Interrupt and exception handling: per-vector handlers, and catch_exception(), which runs a
 * function and turns an exception inside it into a return value (setjmp/longjmp style). */
#ifndef RT_TRAP_H
#define RT_TRAP_H
#include "types.h"

/* Built by isr.S on the handler's stack; fields in push order reversed. */
struct trap_frame {
    u32 gs, fs, es, ds;
    u32 edi, esi, ebp, esp_at_pusha, ebx, edx, ecx, eax;
    u32 vector, error_code;
    u32 eip, cs, eflags;
    u32 user_esp, user_ss;   /* only valid when the trap came from a lower privilege level */
};
typedef void (*trap_handler_fn)(struct trap_frame *f);

/* What the last caught exception was. */
struct exception_record {
    u32 vector, error_code, cr2, eip, cs, eflags;
    u32 esp, ss;        /* the interrupted stack (outer stack when the trap changed privilege) */
    u32 frame;          /* where the handler's trap frame was: shows which stack was used */
};
extern volatile struct exception_record last_exception;

#define NO_EXCEPTION (-1)

/* Installs h for vec (NULL removes it); the handler returns to resume with IRET. */
void trap_set_handler(u8 vec, trap_handler_fn h);
/* Calls fn; returns NO_EXCEPTION if it returned normally, or the vector of the first exception
 * raised inside it (recorded in last_exception), after restoring the caller's stack, callee-saved
 * registers, segment registers and EFLAGS. */
int catch_exception(void (*fn)(void));
/* From a handler: abandon the trap and return vector from the pending catch_exception(). */
void trap_catch_return(u32 vector) __attribute__((noreturn));
/* Called from isr.S. */
void trap_dispatch(struct trap_frame *f);
#endif
