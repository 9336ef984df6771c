/* catch_exception(fn) and its resume path (trap.h). The saved context is the caller's
 * callee-saved registers, ESP, EFLAGS and return address, as setjmp keeps them. */
#define KDATA_SEL 0x10
    .text
    .code32
    .globl catch_exception
catch_exception:
    cmpl $0, catch_armed
    jne catch_nested
    movl 4(%esp), %ecx          /* fn */
    movl (%esp), %eax
    movl %eax, catch_ctx + 0    /* return address */
    movl %ebx, catch_ctx + 4
    movl %esi, catch_ctx + 8
    movl %edi, catch_ctx + 12
    movl %ebp, catch_ctx + 16
    movl %esp, catch_ctx + 20
    pushfl
    popl catch_ctx + 24
    movl $1, catch_armed
    call *%ecx
    movl $0, catch_armed
    movl $-1, %eax
    ret

catch_nested:
    pushl $nested_msg
    call test_abort             /* one context only: a nested catch would lose the outer one */

    /* catch_resume(vector): never returns to its caller; continues after catch_exception. */
    .globl catch_resume
catch_resume:
    movl 4(%esp), %eax
    movl $0, catch_armed
    movl $KDATA_SEL, %edx
    movw %dx, %ss
    movl catch_ctx + 20, %esp
    addl $4, %esp               /* as after catch_exception's own RET */
    movw %dx, %ds
    movw %dx, %es
    movw %dx, %fs
    movw %dx, %gs
    movl catch_ctx + 4, %ebx
    movl catch_ctx + 8, %esi
    movl catch_ctx + 12, %edi
    movl catch_ctx + 16, %ebp
    pushl catch_ctx + 24
    popfl
    jmp *catch_ctx + 0

    .section .rodata
nested_msg:
    .asciz "catch_exception() called inside catch_exception()"

    .section .bss
    .align 4
catch_ctx:
    .skip 28
    .globl catch_armed
catch_armed:
    .skip 4

    .section .note.GNU-stack, "", @progbits
