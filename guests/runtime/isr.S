/* One entry stub per IDT vector. Each builds a struct trap_frame (trap.h) and calls
 * trap_dispatch; vectors where the CPU pushes an error code (SDM vol. 3 table 6-1: 8, 10-14, 17)
 * skip the dummy push so the frame layout is the same for all. */
#define KDATA_SEL 0x10

    .text
    .code32

    .macro STUB vec
    .align 16
isr_stub_\vec:
    .if (\vec == 8) || (\vec >= 10 && \vec <= 14) || (\vec == 17)
    .else
    pushl $0
    .endif
    pushl $\vec
    jmp isr_common
    .endm

    .align 16
    .globl isr_stubs_start
isr_stubs_start:
    .altmacro
    .set i, 0
    .rept 256
    STUB %i
    .set i, i + 1
    .endr

isr_common:
    pushal
    pushl %ds
    pushl %es
    pushl %fs
    pushl %gs
    movl $KDATA_SEL, %eax
    movw %ax, %ds
    movw %ax, %es
    cld
    pushl %esp
    call trap_dispatch
    addl $4, %esp
    popl %gs
    popl %fs
    popl %es
    popl %ds
    popal
    addl $8, %esp           /* vector and error code */
    iretl

    .section .rodata
    .align 4
    .globl isr_stub_table
isr_stub_table:
    .set i, 0
    .rept 256
    .long isr_stubs_start + i * 16
    .set i, i + 1
    .endr

    .section .note.GNU-stack, "", @progbits
