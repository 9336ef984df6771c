/* Multiboot v1 header and entry point (Multiboot Specification 0.6.96, section 3.1). */
#define MB_HEADER_MAGIC 0x1BADB002
#define MB_FLAG_PAGE_ALIGN (1 << 0)   /* modules page aligned */
#define MB_FLAG_MEMINFO    (1 << 1)   /* ask for mem_lower/mem_upper and the memory map */
#define MB_FLAGS (MB_FLAG_PAGE_ALIGN | MB_FLAG_MEMINFO)
#define STACK_SIZE 0x4000

    .section .multiboot, "a"
    .align 4
    .long MB_HEADER_MAGIC
    .long MB_FLAGS
    .long -(MB_HEADER_MAGIC + MB_FLAGS)

    .section .text.start, "ax"
    .code32
    .globl _start
_start:
    /* Multiboot gives us EAX = magic, EBX = info, flat 4 GiB segments, no valid ESP. */
    movl $stack_top, %esp
    xorl %ebp, %ebp
    pushl $0                /* EFLAGS: interrupts off, DF clear */
    popfl
    pushl %ebx
    pushl %eax
    call main
    pushl %eax
    call exit
1:  cli
    hlt
    jmp 1b

    .section .bss
    .align 16
    .globl stack_bottom
stack_bottom:
    .skip STACK_SIZE
    .globl stack_top
stack_top:

    .section .note.GNU-stack, "", @progbits
