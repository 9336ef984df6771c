/* Multiboot v1 boot information (Multiboot Specification 0.6.96, section 3.3). */
#ifndef RT_MULTIBOOT_H
#define RT_MULTIBOOT_H
#include "types.h"
#define MULTIBOOT_BOOTLOADER_MAGIC 0x2BADB002
#define MULTIBOOT_INFO_MEMORY (1u << 0)
#define MULTIBOOT_INFO_CMDLINE (1u << 2)
#define MULTIBOOT_INFO_MEM_MAP (1u << 6)
struct multiboot_info {
    u32 flags;
    u32 mem_lower, mem_upper;
    u32 boot_device;
    u32 cmdline;
    u32 mods_count, mods_addr;
    u32 syms[4];
    u32 mmap_length, mmap_addr;
};
#endif
