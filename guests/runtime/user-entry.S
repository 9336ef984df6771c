/* enter_user(entry, esp, eflags): builds the ring-3 IRET frame (SS, ESP, EFLAGS, CS, EIP). */
#define SEL_UCODE 0x1B
#define SEL_UDATA 0x23
    .text
    .code32
    .globl enter_user
enter_user:
    movl 4(%esp), %eax
    movl 8(%esp), %ecx
    movl 12(%esp), %edx
    movl $SEL_UDATA, %ebx
    movw %bx, %ds
    movw %bx, %es
    movw %bx, %fs
    movw %bx, %gs
    pushl $SEL_UDATA
    pushl %ecx
    pushl %edx
    pushl $SEL_UCODE
    pushl %eax
    iretl

    .section .note.GNU-stack, "", @progbits
