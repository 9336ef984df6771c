/* Ring-3 probes for cpu-paging: each touches *paging_probe_addr and leaves with INT 0x80. */
    .text
    .code32
    .globl user_read_probe
user_read_probe:
    movl paging_probe_addr, %eax
    movl (%eax), %ebx
    xorl %eax, %eax
    int $0x80

    .globl user_write_probe
user_write_probe:
    movl paging_probe_addr, %eax
    movl $0x600d, (%eax)
    xorl %eax, %eax
    int $0x80

    .section .note.GNU-stack, "", @progbits
