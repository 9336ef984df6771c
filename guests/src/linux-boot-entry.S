/* 32-bit entry of the linux-boot payload, at code32_start = 1 MiB: record the registers the boot
 * protocol defines (facts §7.3) before anything changes them, then main(boot_params). */
    .section .text.start, "ax"
    .code32
    .globl _start
_start:
    movl %eax, boot_entry + 0
    movl %ebx, boot_entry + 4
    movl %ecx, boot_entry + 8
    movl %edx, boot_entry + 12
    movl %esi, boot_entry + 16
    movl %edi, boot_entry + 20
    movl %ebp, boot_entry + 24
    movl %esp, boot_entry + 28
    movw %cs, boot_entry + 32
    movw %ds, boot_entry + 34
    movw %es, boot_entry + 36
    movw %ss, boot_entry + 38
    movw %fs, boot_entry + 40
    movw %gs, boot_entry + 42
    movl %cr0, %eax
    movl %eax, boot_entry + 44
    movl $stack_top, %esp   /* the protocol gives no stack (Linux makes one in boot_params) */
    pushfl
    popl boot_entry + 48
    pushl %esi
    call linux_main
    pushl %eax
    call exit
1:  cli
    hlt
    jmp 1b

    .section .bss
    .align 16
    .globl boot_entry
boot_entry:
    .skip 52
    .skip 0x4000
stack_top:

    .section .note.GNU-stack, "", @progbits
