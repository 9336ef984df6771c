/* bios-hello: a 64 KiB firmware ROM for `tskvm run --bios` (and `qemu-system-i386 -bios`).
 *
 * The processor starts at the reset vector, CS = 0xF000 with base 0xFFFF0000 and IP = 0xFFF0,
 * i.e. in the copy of the ROM just below 4 GiB. The far jump there reloads CS as a plain real-mode
 * segment, so everything before the switch to protected mode runs from the copy below 1 MiB
 * (F000:x = 0xF0000 + x). The image is linked at 0: a label is its offset in the ROM.
 *
 * Cases (guests/README.md output protocol):
 *   ram-writable      real mode: RAM at 0x500 keeps what is written to it
 *   reset-vector      real mode: F000:FFF0 holds the far jump (EA, offset, segment F000)
 *   rom-write-low     real mode: a write to the ROM through F000:x does not change it
 *   pm32              32-bit protected mode reached, printing from code fetched near 4 GiB
 *   rom-aliases       every byte of 0xFFFF0000.. equals the byte at 0xF0000.. (flat data segment)
 *   rom-write-high    a write through 0xFFFF0000 + x changes neither copy
 *   ram-above-1m      RAM at 1 MiB is writable and distinct from the ROM below it
 *   ram-kept          the word written at 0x500 in real mode is still there
 * then DONE <passed>/<total> and a debug-exit write of 0 (all passed) or 1.
 */
#define COM1_THR 0x3f8
#define COM1_LSR 0x3fd
#define LSR_THRE 0x20
#define DEBUG_EXIT 0xf4
#define ROM_SIZE 0x10000
#define ROM_LOW 0xf0000         /* isa-bios: a 64 KiB ROM fills 0xF0000-0xFFFFF */
#define ROM_HIGH 0xffff0000     /* pc.bios: the ROM ends at 4 GiB */
#define STACK 0x7000
#define RAM_PROBE 0x500
#define RAM_PROBE_VALUE 0x55aa
#define RAM_HIGH_PROBE 0x100000
#define PASSED 0x600            /* counters in RAM (32-bit), addressed with ES = 0 in real mode */
#define TOTAL 0x604
#define SEL_CODE32 0x08
#define SEL_DATA32 0x10
#define PROBE_VALUE 0x524f4d21  /* "!MOR": what rom_probe holds */

    .text
    .code16
    .globl _start
_start:
    cli
    cld
    xorw %ax, %ax
    movw %ax, %ss
    movw %ax, %es
    movw $STACK, %sp
    movw %cs, %ax               /* 0xF000: strings and data come from the low copy */
    movw %ax, %ds
    movl $0, %es:PASSED
    movl $0, %es:TOTAL
    movw $banner, %si
    call puts16

    /* ram-writable */
    movw $RAM_PROBE_VALUE, %es:RAM_PROBE
    movw $0xa55a, %es:RAM_PROBE + 2
    movw $name_ram, %si
    cmpw $RAM_PROBE_VALUE, %es:RAM_PROBE
    jne 1f
    cmpw $0xa55a, %es:RAM_PROBE + 2
    jne 1f
    call pass16
    jmp 2f
1:  movw $why_ram, %di
    call fail16
2:
    /* reset-vector: read through the low copy */
    movw $name_reset, %si
    cmpb $0xea, 0xfff0
    jne 1f
    cmpw $_start, 0xfff1
    jne 1f
    cmpw $0xf000, 0xfff3
    jne 1f
    call pass16
    jmp 2f
1:  movw $why_reset, %di
    call fail16
2:
    /* rom-write-low */
    movl $0x11223344, rom_probe
    movb $0x99, rom_probe + 3
    movw $name_wlow, %si
    cmpl $PROBE_VALUE, rom_probe
    jne 1f
    call pass16
    jmp 2f
1:  movw $why_changed, %di
    call fail16
2:
    movw $msg_pm, %si
    call puts16

    /* Protected mode with the GDT in ROM: its descriptors are already marked accessed, so
     * loading a selector never writes to the ROM. */
    lgdtl gdt_desc
    movl %cr0, %eax
    orb $1, %al
    movl %eax, %cr0
    ljmpl $SEL_CODE32, $(ROM_HIGH + pm32)

/* Real-mode helpers: DS = 0xF000, ES = 0. */
putc16: /* AL */
    pushw %dx
    pushw %ax
    movw $COM1_LSR, %dx
1:  inb %dx, %al
    testb $LSR_THRE, %al
    jz 1b
    popw %ax
    movw $COM1_THR, %dx
    outb %al, %dx
    popw %dx
    ret

puts16: /* DS:SI, NUL-terminated */
    pushw %ax
1:  lodsb
    testb %al, %al
    jz 2f
    call putc16
    jmp 1b
2:  popw %ax
    ret

pass16: /* SI = case name */
    pushw %si
    movw $str_pass, %si
    call puts16
    popw %si
    call puts16
    movb $'\n', %al
    call putc16
    incl %es:PASSED
    incl %es:TOTAL
    ret

fail16: /* SI = case name, DI = details */
    pushw %si
    movw $str_fail, %si
    call puts16
    popw %si
    call puts16
    movw $str_colon, %si
    call puts16
    movw %di, %si
    call puts16
    movb $'\n', %al
    call putc16
    incl %es:TOTAL
    ret

    .code32
pm32:
    movw $SEL_DATA32, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    movl $STACK, %esp
    movl $(ROM_HIGH + name_pm32), %esi
    call pass32

    /* rom-aliases: all 64 KiB, then the reset vector's opcode through the high copy */
    movl $ROM_LOW, %esi
    movl $ROM_HIGH, %edi
    movl $(ROM_SIZE / 4), %ecx
    repe cmpsl
    movl $(ROM_HIGH + name_alias), %esi
    jne 1f
    cmpb $0xea, ROM_HIGH + 0xfff0
    jne 1f
    call pass32
    jmp 2f
1:  movl $(ROM_HIGH + why_alias), %edi
    call fail32
2:
    /* rom-write-high */
    movl $0xdeadbeef, ROM_HIGH + rom_probe
    movw $0x1234, ROM_HIGH + rom_probe + 1
    movl $(ROM_HIGH + name_whigh), %esi
    cmpl $PROBE_VALUE, ROM_HIGH + rom_probe
    jne 1f
    cmpl $PROBE_VALUE, ROM_LOW + rom_probe
    jne 1f
    call pass32
    jmp 2f
1:  movl $(ROM_HIGH + why_changed), %edi
    call fail32
2:
    /* ram-above-1m */
    movl $0x87654321, RAM_HIGH_PROBE
    movl $(ROM_HIGH + name_ram1m), %esi
    cmpl $0x87654321, RAM_HIGH_PROBE
    jne 1f
    cmpl $PROBE_VALUE, ROM_LOW + rom_probe
    jne 1f
    call pass32
    jmp 2f
1:  movl $(ROM_HIGH + why_ram), %edi
    call fail32
2:
    /* ram-kept */
    movl $(ROM_HIGH + name_kept), %esi
    cmpw $RAM_PROBE_VALUE, RAM_PROBE
    jne 1f
    call pass32
    jmp 2f
1:  movl $(ROM_HIGH + why_ram), %edi
    call fail32
2:
    /* DONE <passed>/<total>, then exit 0 when every case passed */
    movl $(ROM_HIGH + str_done), %esi
    call puts32
    movl PASSED, %eax
    call putdec32
    movb $'/', %al
    call putc32
    movl TOTAL, %eax
    call putdec32
    movb $'\n', %al
    call putc32
    xorl %eax, %eax
    movl PASSED, %ecx
    cmpl TOTAL, %ecx
    setne %al
    movw $DEBUG_EXIT, %dx
    outl %eax, %dx
3:  cli
    hlt
    jmp 3b

putc32: /* AL */
    pushl %edx
    pushl %eax
    movw $COM1_LSR, %dx
1:  inb %dx, %al
    testb $LSR_THRE, %al
    jz 1b
    popl %eax
    movw $COM1_THR, %dx
    outb %al, %dx
    popl %edx
    ret

puts32: /* ESI, NUL-terminated */
    pushl %eax
1:  lodsb
    testb %al, %al
    jz 2f
    call putc32
    jmp 1b
2:  popl %eax
    ret

putdec32: /* EAX, unsigned decimal */
    pushl %edx
    pushl %ecx
    movl $10, %ecx
    xorl %edx, %edx
    divl %ecx
    testl %eax, %eax
    jz 1f
    call putdec32
1:  movb %dl, %al
    addb $'0', %al
    call putc32
    popl %ecx
    popl %edx
    ret

pass32: /* ESI = case name */
    pushl %esi
    movl $(ROM_HIGH + str_pass), %esi
    call puts32
    popl %esi
    call puts32
    movb $'\n', %al
    call putc32
    incl PASSED
    incl TOTAL
    ret

fail32: /* ESI = case name, EDI = details */
    pushl %esi
    movl $(ROM_HIGH + str_fail), %esi
    call puts32
    popl %esi
    call puts32
    movl $(ROM_HIGH + str_colon), %esi
    call puts32
    movl %edi, %esi
    call puts32
    movb $'\n', %al
    call putc32
    incl TOTAL
    ret

    .balign 8
gdt:
    .quad 0
    .quad 0x00cf9b000000ffff    /* 0x08: code, base 0, 4 GiB, 32-bit, accessed */
    .quad 0x00cf93000000ffff    /* 0x10: data, base 0, 4 GiB, writable, accessed */
gdt_end:
gdt_desc:
    .word gdt_end - gdt - 1
    .long ROM_LOW + gdt

    .balign 4
rom_probe:
    .long PROBE_VALUE

banner:      .asciz "bios-hello: firmware running from the reset vector\n"
msg_pm:      .asciz "entering 32-bit protected mode\n"
str_pass:    .asciz "PASS "
str_fail:    .asciz "FAIL "
str_colon:   .asciz ": "
str_done:    .asciz "DONE "
name_ram:    .asciz "ram-writable"
name_reset:  .asciz "reset-vector"
name_wlow:   .asciz "rom-write-low"
name_pm32:   .asciz "pm32"
name_alias:  .asciz "rom-aliases"
name_whigh:  .asciz "rom-write-high"
name_ram1m:  .asciz "ram-above-1m"
name_kept:   .asciz "ram-kept"
why_ram:     .asciz "RAM did not keep the value written"
why_reset:   .asciz "no ljmp F000:_start at F000:FFF0"
why_changed: .asciz "the ROM changed after a write"
why_alias:   .asciz "0xFFFF0000.. and 0xF0000.. differ"

    /* The reset vector: the processor's first instruction, 16 bytes below 4 GiB. */
    .org 0xfff0
    .code16
reset_vector:
    ljmp $0xf000, $_start
    .org ROM_SIZE
