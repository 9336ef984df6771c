/* The real-mode part of the linux-boot bzImage (Linux Documentation/arch/x86/boot.rst): a boot
 * sector and one setup sector holding the setup header, protocol 2.15. A 32-bit loader reads the
 * header and never runs this code; the 16-bit entry only says so on COM1 and stops.
 * Built with --defsym SYSSIZE=<payload paragraphs> --defsym INIT_SIZE=<bytes from 1 MiB>. */
#define COM1 0x3f8
#define LOADED_HIGH 0x01

    .code16
    .section .text
    .globl _start
_start:
    .org 0x1f1
setup_sects:        .byte 1
root_flags:         .word 0
syssize:            .long SYSSIZE
ram_size:           .word 0
vid_mode:           .word 0xfffd            /* "ask" */
root_dev:           .word 0
boot_flag:          .word 0xaa55
    .org 0x200
    .byte 0xeb, setup_entry - 0x202         /* jmp setup_entry */
header:             .ascii "HdrS"
version:            .word 0x020f
realmode_swtch:     .long 0
start_sys_seg:      .word 0x1000
kernel_version:     .word 0
type_of_loader:     .byte 0
loadflags:          .byte LOADED_HIGH
setup_move_size:    .word 0x8000
code32_start:       .long 0x100000
ramdisk_image:      .long 0
ramdisk_size:       .long 0
bootsect_kludge:    .long 0
heap_end_ptr:       .word 0
ext_loader_ver:     .byte 0
ext_loader_type:    .byte 0
cmd_line_ptr:       .long 0
initrd_addr_max:    .long 0x37ffffff
kernel_alignment:   .long 0x1000
relocatable_kernel: .byte 0
min_alignment:      .byte 12
xloadflags:         .word 0
cmdline_size:       .long 2047
hardware_subarch:   .long 0
hardware_subarch_data: .quad 0
payload_offset:     .long 0
payload_length:     .long 0
setup_data:         .quad 0
pref_address:       .quad 0x100000
init_size:          .long INIT_SIZE
handover_offset:    .long 0
kernel_info_offset: .long 0

/* 16-bit entry (CS = setup segment + 0x20): not supported by this guest. */
setup_entry:
    movw %cs, %ax
    movw %ax, %ds
    movw $msg - 0x200, %si
1:  lodsb
    testb %al, %al
    jz 3f
    movb %al, %bl
    movw $COM1 + 5, %dx
2:  inb %dx, %al
    testb $0x20, %al
    jz 2b
    movw $COM1, %dx
    movb %bl, %al
    outb %al, %dx
    jmp 1b
3:  cli
    hlt
    jmp 3b
msg: .asciz "linux-boot: started through the 16-bit boot protocol; it needs the 32-bit one\n"

    .org 1024
