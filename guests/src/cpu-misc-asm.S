/* Assembly halves of cpu-misc: instructions that move ESP/EBP, which inline asm cannot own. */
    .text
    .code32

/* enter_leave_N(stack_top, ebp_in, out): ESP := stack_top, EBP := ebp_in, ENTER $12, $N;
 * out[0] = ESP, out[1] = EBP after ENTER; LEAVE; out[2] = ESP, out[3] = EBP after LEAVE. */
    .macro ENTER_LEAVE level
    .globl enter_leave_\level
enter_leave_\level:
    pushl %ebp
    pushl %ebx
    movl 12(%esp), %eax         /* stack_top */
    movl 16(%esp), %edx         /* ebp_in */
    movl 20(%esp), %ecx         /* out */
    movl %esp, %ebx
    movl %eax, %esp
    movl %edx, %ebp
    enter $12, $\level
    movl %esp, 0(%ecx)
    movl %ebp, 4(%ecx)
    leave
    movl %esp, 8(%ecx)
    movl %ebp, 12(%ecx)
    movl %ebx, %esp
    popl %ebx
    popl %ebp
    ret
    .endm
    ENTER_LEAVE 0
    ENTER_LEAVE 1
    ENTER_LEAVE 3

/* pusha_popa(out): loads known values, PUSHA, copies the 8 pushed words to out[0..7],
 * clobbers the registers, POPA, stores the restored registers to out[8..15] (PUSHA order). */
    .globl pusha_popa
pusha_popa:
    pushl %ebp
    pushl %ebx
    pushl %esi
    pushl %edi
    movl 20(%esp), %eax
    movl %eax, pusha_out
    movl %esp, pusha_saved_esp
    movl $0x11111111, %eax
    movl $0x22222222, %ecx
    movl $0x33333333, %edx
    movl $0x44444444, %ebx
    movl $0x55555555, %ebp
    movl $0x66666666, %esi
    movl $0x77777777, %edi
    pushal
    movl pusha_out, %eax
    .irp i, 0, 1, 2, 3, 4, 5, 6, 7
    movl 4*\i(%esp), %ecx
    movl %ecx, 4*(7-\i)(%eax)   /* out in push order: EAX first */
    .endr
    movl $0xdead0000, %eax
    movl $0xdead0001, %ecx
    movl $0xdead0002, %edx
    movl $0xdead0003, %ebx
    movl $0xdead0005, %ebp
    movl $0xdead0006, %esi
    movl $0xdead0007, %edi
    popal
    pushl %eax
    movl pusha_out, %eax
    popl 32(%eax)
    movl %ecx, 36(%eax)
    movl %edx, 40(%eax)
    movl %ebx, 44(%eax)
    movl %esp, 48(%eax)
    movl %ebp, 52(%eax)
    movl %esi, 56(%eax)
    movl %edi, 60(%eax)
    movl pusha_saved_esp, %ecx
    movl %ecx, 64(%eax)
    movl pusha_saved_esp, %esp
    popl %edi
    popl %esi
    popl %ebx
    popl %ebp
    ret

/* pushaw_popaw(out): 16-bit PUSHA (0x66): out[0] = ESP decrement, out[1..8] = the words pushed. */
    .globl pushaw_popaw
pushaw_popaw:
    pushl %ebp
    pushl %ebx
    pushl %esi
    pushl %edi
    movl 20(%esp), %eax
    movl %eax, pusha_out
    movl %esp, pusha_saved_esp
    movl $0xaaaa0001, %eax
    movl $0xaaaa0002, %ecx
    movl $0xaaaa0003, %edx
    movl $0xaaaa0004, %ebx
    movl $0xaaaa0006, %ebp
    movl $0xaaaa0007, %esi
    movl $0xaaaa0008, %edi
    pushaw
    movl pusha_out, %eax
    movl pusha_saved_esp, %ecx
    subl %esp, %ecx
    movl %ecx, 0(%eax)
    .irp i, 0, 1, 2, 3, 4, 5, 6, 7
    movzwl 2*\i(%esp), %ecx
    movl %ecx, 4*(8-\i)(%eax)
    .endr
    popaw
    movl pusha_saved_esp, %esp
    popl %edi
    popl %esi
    popl %ebx
    popl %ebp
    ret

    .section .bss
    .align 4
pusha_out: .skip 4
pusha_saved_esp: .skip 4

    .section .note.GNU-stack, "", @progbits
