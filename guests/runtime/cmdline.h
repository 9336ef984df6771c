/* The multiboot command line (Multiboot Specification 0.6.96 section 3.3, flags bit 2): space-separated
 * words, "key=value" pairs looked up by key, and Linux's "virtio_mmio.device=<size>@<base>:<irq>"
 * entries (Documentation/admin-guide/kernel-parameters.txt, virtio_mmio.device). */
#ifndef RT_CMDLINE_H
#define RT_CMDLINE_H
#include "types.h"
#include "multiboot.h"

#define CMDLINE_MAX 1024
#define CMDLINE_MAX_VIRTIO 8

/* One virtio-mmio device announced on the command line. */
struct virtio_mmio_decl {
    u32 base, size, irq;
};

/* Copies the command line out of the multiboot info (empty when flags bit 2 is clear) and parses
 * its virtio_mmio.device= entries. Call once, before the other functions. */
void cmdline_init(const struct multiboot_info *info);
/* The whole command line ("" if none). */
const char *cmdline_text(void);
/* Copies the value of the first "key=value" word into buf (NUL-terminated, truncated to size) and
 * returns 1; returns 0 when key is absent. A bare word "key" has the value "". */
int cmdline_get(const char *key, char *buf, u32 size);
/* The value of key as an unsigned decimal (or 0x hex) number with an optional K/M suffix (×1024),
 * or def when the key is absent or not a number. */
u32 cmdline_u32(const char *key, u32 def);
/* Parses a number as cmdline_u32 does; returns 1 on success. */
int cmdline_parse_u32(const char *s, u32 *out);
/* Number of virtio_mmio.device= entries, and entry i in command-line order. */
u32 cmdline_virtio_count(void);
const struct virtio_mmio_decl *cmdline_virtio(u32 i);
#endif
