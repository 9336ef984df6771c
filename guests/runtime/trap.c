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

void trap_catch_return(u32 vector)
{
    if (!catch_armed)
        test_abort("trap_catch_return(%u) outside catch_exception", vector);
    catch_resume(vector);
}

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
        if ((f->cs & 3) != 0) {
            last_exception.esp = f->user_esp;
            last_exception.ss = f->user_ss;
        } else {
            /* Same privilege: the interrupted ESP is just above EIP, CS, EFLAGS. */
            last_exception.esp = (u32)&f->user_esp;
            last_exception.ss = read_ss();
        }
        last_exception.frame = (u32)f;
        catch_resume(f->vector);
    }
    test_abort("unexpected vector %u error 0x%x at %04x:%08x", f->vector, f->error_code,
               f->cs & 0xFFFF, f->eip);
}
