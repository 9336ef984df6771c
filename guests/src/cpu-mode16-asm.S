/* cpu-mode16 blob: copied to BLOB_BASE and entered by a 32-bit far call to a 16-bit code segment
 * whose base is BLOB_BASE. Part A runs as 16-bit protected-mode code; part B drops to real mode
 * (CR0.PE = 0, far jump with a real-mode segment), runs real-mode tests, and returns to protected
 * mode and to the 32-bit caller (SDM vol. 3 sections 9.9.2 "switching back to real-address mode"
 * and 9.9.1). Every offset is relative to the blob, so the same code works with CS base BLOB_BASE
 * in both modes (selector SEL_BLOB16 in protected mode, segment BLOB_SEG in real mode). */
#define BLOB_BASE 0x7000
#define BLOB_SEG 0x0700
#define SEL_KDATA 0x10
#define SEL_DATA16 0x38
#define SEL_BLOB16 0x40
#define RM_STACK 0x6ff0
#define RM_INT_VECTOR 0x60
#define DS_PARA 0x0010          /* DS for the addressing tests: base 0x100 */
#define ADDR_AREA 0x6000        /* SS-relative area; DS-relative area is 0x100 above it */

#define OFF(x) ((x) - rm_blob_start)
#define RES_PM(i) (BLOB_BASE + OFF(rm_results) + 4 * (i))
#define RES_RM(i) (OFF(rm_results) + 4 * (i))

    .text
    .code16
    .globl rm_blob_start
rm_blob_start:
    /* ---- part A: 16-bit protected mode; DS = SS = flat 32-bit data segment ---- */
    movl $0xaaaa5555, %eax
    movw $0x1234, %ax                    /* 16-bit operand: no prefix in 16-bit code */
    movl %eax, RES_PM(0)
    movl $0x12345678, %eax               /* 0x66: a 32-bit operand */
    movl %eax, RES_PM(1)
    movl BLOB_BASE + OFF(rm_inputs), %ebx
    addr32 movl (%ebx), %eax             /* 0x67: 32-bit addressing reaches above 64 KiB */
    movl %eax, RES_PM(2)
    movl %esp, %ecx
    pushw %ax
    movl %ecx, %edx
    subl %esp, %edx
    movl %edx, RES_PM(3)                 /* 2 */
    popw %ax
    pushl %eax
    movl %ecx, %edx
    subl %esp, %edx
    movl %edx, RES_PM(4)                 /* 4 */
    popl %eax
    call near16
    movw $0xfff0, %bx                    /* 0xfff0 + disp wraps to BLOB_BASE + inputs[1] */
    movl (BLOB_BASE + OFF(rm_inputs) + 4 + 0x10)(%bx), %eax
    movl %eax, RES_PM(6)

    /* ---- to real mode ---- */
    movl %esp, BLOB_BASE + OFF(saved_esp)
    movw $SEL_DATA16, %ax                /* real-mode-compatible limits for every data segment */
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %fs
    movw %ax, %gs
    movw %ax, %ss
    movl $RM_STACK, %esp
    lidt BLOB_BASE + OFF(rm_idtr)        /* the interrupt vector table at 0 */
    movl %cr0, %eax
    andl $~1, %eax
    movl %eax, %cr0
    ljmp $BLOB_SEG, $OFF(rm_entry)

near16:
    movl %ecx, %edx
    subl %esp, %edx
    movl %edx, RES_PM(5)                 /* 2: a 16-bit near CALL pushes IP only */
    ret

rm_entry:
    /* ---- part B: real mode ---- */
    xorw %ax, %ax
    movw %ax, %ss
    movw $RM_STACK, %sp
    movw %ax, %es
    movw $BLOB_SEG, %ax
    movw %ax, %ds
    movl %cr0, %eax
    movl %eax, RES_RM(7)
    movw %cs, %ax
    movw %ax, RES_RM(16)

    /* Segment arithmetic: 0x0650:0x0003 and 0x0600:0x0503 are both physical 0x6503. */
    movw $0x0650, %ax
    movw %ax, %es
    movb $0xa5, %es:0x0003
    movw $0x0600, %ax
    movw %ax, %es
    movzbl %es:0x0503, %eax
    movl %eax, RES_RM(9)
    xorw %ax, %ax
    movw %ax, %es
    movzbl %es:0x6503, %eax
    movl %eax, RES_RM(8)

    /* INT through the IVT: vector RM_INT_VECTOR -> BLOB_SEG:rm_int_handler. */
    movw $OFF(rm_int_handler), %es:(RM_INT_VECTOR * 4)
    movw $BLOB_SEG, %es:(RM_INT_VECTOR * 4 + 2)
    movw %sp, RES_RM(11)
    int $RM_INT_VECTOR
    .globl rm_after_int
rm_after_int:
    movw %sp, RES_RM(12)

    /* 16-bit addressing forms: BP-based forms use SS (base 0), the others DS (base 0x100). */
    pushw %ds
    movw $DS_PARA, %ax
    movw %ax, %ds
    movw $ADDR_AREA, %bx
    movw $ADDR_AREA, %bp
    movw $4, %si
    movw $6, %di
    movw (%bx,%si), %ax
    movw %ax, %cx                         /* DS:0x6004 */
    movw (%bp,%si), %dx                   /* SS:0x6004 */
    movw 8(%bp,%di), %ax                  /* SS:0x600e */
    movw 0x20(%bx,%di), %si               /* DS:0x6026 */
    movw -2(%bp), %di                     /* SS:0x5ffe */
    movw %ds:(%bp), %bx                   /* segment override: DS:0x6000 */
    popw %ds
    movw %cx, RES_RM(13)
    movw %dx, RES_RM(14)
    movw %ax, RES_RM(15)
    movw %si, RES_RM(17)
    movw %di, RES_RM(18)
    movw %bx, RES_RM(19)

    /* ---- back to protected mode ---- */
    movl %cr0, %eax
    orl $1, %eax
    movl %eax, %cr0
    ljmp $SEL_BLOB16, $OFF(pm16_back)

rm_int_handler:
    movw %sp, RES_RM(10)
    movw %sp, %bp
    movw 0(%bp), %ax
    movw %ax, RES_RM(20)                  /* pushed IP */
    movw 2(%bp), %ax
    movw %ax, RES_RM(21)                  /* pushed CS */
    iret

pm16_back:
    movw $SEL_KDATA, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %fs
    movw %ax, %gs
    movw %ax, %ss
    movl BLOB_BASE + OFF(saved_esp), %esp
    movl %cr0, %eax
    movl %eax, RES_PM(22)
    lretl                                 /* 0x66: pop a 32-bit EIP and CS */

    .align 4
rm_idtr:
    .word 0x3ff
    .long 0
    .align 4
saved_esp:
    .long 0
    .globl rm_inputs
rm_inputs:
    .long 0, 0
    .globl rm_results
rm_results:
    .skip 4 * 24
    .globl rm_blob_end
rm_blob_end:

    .code32
    .section .note.GNU-stack, "", @progbits
