/* Dispatch of every vector: a registered handler wins; otherwise an exception inside
 * catch_exception() resumes there; anything else is reported as a failure and ends the guest. */
#include "trap.h"
#include "cpu.h"
#include "printf.h"
#include "test.h"

volatile struct exception_record last_exception;
static trap_handler_fn handlers[256];
extern volatile u32 catch_armed;
void catch_resume(u32 vector) __attribute__((noreturn));

void trap_set_handler(u8 vec, trap_handler_fn h)
{
    handlers[vec] = h;
}

void trap_dispatch(struct trap_frame *f)
{
    trap_handler_fn h = handlers[f->vector & 0xFF];
    if (h) {
        h(f);
        return;
    }
    if (catch_armed) {
        last_exception.vector = f->vector;
        last_exception.error_code = f->error_code;
        last_exception.cr2 = read_cr2();
        last_exception.eip = f->eip;
        last_exception.cs = f->cs;
        last_exception.eflags = f->eflags;
        catch_resume(f->vector);
    }
    test_abort("unexpected vector %u error 0x%x at %04x:%08x", f->vector, f->error_code,
               f->cs & 0xFFFF, f->eip);
}
