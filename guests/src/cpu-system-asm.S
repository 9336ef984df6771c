/* Assembly halves of cpu-system: privilege transitions and far control transfers. */
#define SEL_KCODE 0x08
#define SEL_UCODE 0x1B
#define SEL_UDATA 0x23
#define SYSCALL_VECTOR 0x80
    .text
    .code32

/* Ring-3 programs. */
    .globl user_syscalls
user_syscalls:
    movl $41, %eax
    int $SYSCALL_VECTOR         /* the handler returns EAX + 1 */
    movl %eax, %ebx
    movl %cs, %esi
    movl %ss, %edi
    xorl %eax, %eax
    int $SYSCALL_VECTOR         /* EAX = 0: back to the kernel with EBX, ESI, EDI */

    .globl user_cli
user_cli:
    cli
    ud2

    .globl user_hlt
user_hlt:
    hlt
    ud2

    .globl user_out80
user_out80:
    movb $0x42, %al
    .globl user_out80_insn
user_out80_insn:
    outb %al, $0x80
    xorl %eax, %eax
    int $SYSCALL_VECTOR

    .globl user_load_kdata
user_load_kdata:
    movl $0x10, %eax
    .globl user_load_kdata_insn
user_load_kdata_insn:
    movw %ax, %ds
    ud2

    .globl user_rdtsc
user_rdtsc:
    rdtsc
    xorl %eax, %eax
    int $SYSCALL_VECTOR

    .globl user_mov_cr0
user_mov_cr0:
    movl %cr0, %eax
    ud2

/* Calls through the call gate whose selector is in call_gate_sel with two stack parameters. */
    .globl user_call_gate
user_call_gate:
    pushl $0x11110000
    pushl $0x22220000
    movl %esp, %esi             /* ESP at the call, reported back by the gate target */
    lcall *call_gate_ptr
    movl %esp, %edi             /* RET 8 popped the parameters */
    movl %cs, %ebx
    xorl %eax, %eax
    int $SYSCALL_VECTOR

    .globl user_sysenter
user_sysenter:
    movl $0x5157, %ebx
    movl %esp, %ecx             /* SYSEXIT restores ESP from ECX and EIP from EDX */
    movl $1f, %edx
    sysenter
1:  movl %cs, %esi
    movl %ss, %edi
    xorl %eax, %eax
    int $SYSCALL_VECTOR

    .section .data
    .globl call_gate_ptr
call_gate_ptr:
    .long 0                     /* the offset is ignored for a call gate */
    .globl call_gate_sel
call_gate_sel:
    .word 0

    .text
/* Ring-0 target of the call gate: records what the CPU pushed on the inner stack
 * (SDM vol. 3 figure 5-13: parameters copied, then caller's SS:ESP below CS:EIP). */
    .globl gate_target
gate_target:
    movl %cs, %eax
    movl %eax, gate_seen + 0
    movl 0(%esp), %eax
    movl %eax, gate_seen + 4     /* return EIP */
    movl 4(%esp), %eax
    movl %eax, gate_seen + 8     /* caller CS */
    movl 8(%esp), %eax
    movl %eax, gate_seen + 12    /* parameter nearest the top: the last pushed */
    movl 12(%esp), %eax
    movl %eax, gate_seen + 16
    movl 16(%esp), %eax
    movl %eax, gate_seen + 20    /* caller ESP */
    movl 20(%esp), %eax
    movl %eax, gate_seen + 24    /* caller SS */
    movl %esp, gate_seen + 28
    lret $8

/* Ring-0 SYSENTER target: records CS/SS/ESP, then SYSEXIT back. */
    .globl sysenter_target
sysenter_target:
    movl %cs, %eax
    movl %eax, sysenter_seen + 0
    movl %ss, %eax
    movl %eax, sysenter_seen + 4
    movl %esp, sysenter_seen + 8
    movl %ebx, sysenter_seen + 12
    sysexit

    .section .bss
    .globl gate_seen
gate_seen: .skip 32
    .globl sysenter_seen
sysenter_seen: .skip 16

    .text
/* far_transfers(out, alias_sel): far JMP, far CALL/RET (direct and indirect, with RET imm16) to
 * a second ring-0 code segment; out[0] = CS after the JMP, out[1] = CS inside the call,
 * out[2] = ESP change across CALL + RET 4 (should be -4 + 4 + 4 = the pushed argument),
 * out[3] = CS after returning. */
    .globl far_transfers
far_transfers:
    pushl %ebx
    pushl %esi
    movl 12(%esp), %ebx         /* out */
    movl 16(%esp), %eax         /* alias selector */
    movw %ax, far_ptr + 4
    movl $1f, far_ptr
    ljmp *far_ptr
1:  movl %cs, %eax
    movl %eax, 0(%ebx)
    ljmp $SEL_KCODE, $2f
2:  movl $far_callee, far_ptr
    movl %esp, %esi
    pushl $0x1234               /* popped by the callee's RET 4 */
    lcall *far_ptr
    subl %esp, %esi
    movl %esi, 8(%ebx)
    movl %cs, %eax
    movl %eax, 12(%ebx)
    popl %esi
    popl %ebx
    ret

far_callee:
    movl %cs, %eax
    movl %eax, 4(%ebx)
    lret $4

    .section .data
far_ptr: .long 0
    .word 0

    .section .note.GNU-stack, "", @progbits
