/* The classic 12-byte KVM API example (LWN "Using the KVM API"): 16-bit real-mode code that
 * prints AL+BL as a digit and a newline on COM1, then halts. Run with AL=BL=2 → "4\n". */
    .code16
    .text
    .globl _start
_start:
    mov $0x3f8, %dx
    add %bl, %al
    add $'0', %al
    out %al, (%dx)
    mov $'\n', %al
    out %al, (%dx)
    hlt

    .section .note.GNU-stack, "", @progbits
