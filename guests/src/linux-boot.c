/* linux-boot: a bzImage whose "kernel" checks what a 32-bit boot-protocol loader gave it (Linux
 * Documentation/arch/x86/boot.rst, zero-page.rst): the entry registers and segments, the setup
 * header fields a loader fills in, the command line, the e820 map and the initrd. It prints the
 * command line, the map and an initrd checksum so the host side can compare them. */
#include "rt.h"

/* boot_params offsets (facts §7.1, §7.2). */
#define BP_ALT_MEM_K      0x1e0
#define BP_E820_ENTRIES   0x1e8
#define BP_E820_TABLE     0x2d0
#define BP_HEADER         0x202
#define BP_VERSION        0x206
#define BP_TYPE_OF_LOADER 0x210
#define BP_LOADFLAGS      0x211
#define BP_CODE32_START   0x214
#define BP_RAMDISK_IMAGE  0x218
#define BP_RAMDISK_SIZE   0x21c
#define BP_CMD_LINE_PTR   0x228
#define BP_INITRD_MAX     0x22c
#define BP_CMDLINE_SIZE   0x238
#define HDRS              0x53726448u
#define LOADED_HIGH       0x01
#define E820_RAM          1
#define BOOT_CS           0x10
#define BOOT_DS           0x18
#define KERNEL_START      0x100000u

struct entry_state {
    u32 eax, ebx, ecx, edx, esi, edi, ebp, esp;
    u16 cs, ds, es, ss, fs, gs;
    u32 cr0, eflags;
} __attribute__((packed));
extern struct entry_state boot_entry;
extern u8 _end[];

struct e820_entry {
    u64 addr, size;
    u32 type;
} __attribute__((packed));

static const u8 *bp;
static u8 bp8(u32 off) { return bp[off]; }
static u16 bp16(u32 off) { return *(const u16 *)(bp + off); }
static u32 bp32(u32 off) { return *(const u32 *)(bp + off); }
static const struct e820_entry *e820(u32 i) { return (const struct e820_entry *)(bp + BP_E820_TABLE) + i; }

/* Is [addr, addr+len) inside one e820 RAM entry? */
static int in_ram(u32 addr, u32 len)
{
    for (u32 i = 0; i < bp8(BP_E820_ENTRIES); i++) {
        const struct e820_entry *e = e820(i);
        if (e->type == E820_RAM && e->addr <= addr && (u64)addr + len <= e->addr + e->size)
            return 1;
    }
    return 0;
}

/* FNV-1a over the initrd. */
static u32 fnv1a(const u8 *p, u32 n)
{
    u32 h = 2166136261u;
    for (u32 i = 0; i < n; i++)
        h = (h ^ p[i]) * 16777619u;
    return h;
}

int linux_main(const u8 *boot_params)
{
    bp = boot_params;
    rt_init();
    printf("linux-boot: zero page at 0x%x\n", (u32)bp);

    test_begin("entry-registers");
    EXPECT_EQ(boot_entry.esi, (u32)bp);
    EXPECT_EQ(boot_entry.ebx, 0);
    EXPECT_EQ(boot_entry.edi, 0);
    EXPECT_EQ(boot_entry.ebp, 0);
    test_end();

    test_begin("entry-segments-and-mode");
    EXPECT_EQ(boot_entry.cs, BOOT_CS);
    EXPECT_EQ(boot_entry.ds, BOOT_DS);
    EXPECT_EQ(boot_entry.es, BOOT_DS);
    EXPECT_EQ(boot_entry.ss, BOOT_DS);
    EXPECT_EQ(boot_entry.cr0 & (CR0_PE | CR0_PG), CR0_PE);
    EXPECT_EQ(boot_entry.eflags & EFLAGS_IF, 0);
    test_end();

    test_begin("setup-header");
    EXPECT_EQ(bp32(BP_HEADER), HDRS);
    EXPECT_EQ(bp16(BP_VERSION), 0x020f);
    EXPECT(bp8(BP_TYPE_OF_LOADER) != 0);
    EXPECT_EQ(bp8(BP_LOADFLAGS) & LOADED_HIGH, LOADED_HIGH);
    EXPECT_EQ(bp32(BP_CODE32_START), KERNEL_START);
    EXPECT_EQ(bp32(BP_CMDLINE_SIZE), 2047);
    test_end();

    const char *cmdline = (const char *)bp32(BP_CMD_LINE_PTR);
    test_begin("command-line");
    EXPECT(cmdline != 0);
    EXPECT(strlen(cmdline) <= bp32(BP_CMDLINE_SIZE));
    EXPECT(in_ram((u32)cmdline, strlen(cmdline) + 1));
    test_end();
    printf("cmdline: \"%s\"\n", cmdline);

    u32 n = bp8(BP_E820_ENTRIES);
    u64 ram = 0;
    printf("e820: %u entries\n", n);
    for (u32 i = 0; i < n; i++) {
        const struct e820_entry *e = e820(i);
        printf("e820: [0x%08x-0x%08x] type %u\n", (u32)e->addr, (u32)(e->addr + e->size - 1), e->type);
        if (e->type == E820_RAM)
            ram += e->size;
    }
    printf("e820: %u KiB of RAM\n", (u32)(ram >> 10));
    test_begin("e820-map");
    EXPECT(n >= 2 && n <= 128);
    EXPECT(in_ram(0, 0x1000));                               /* real-mode IVT and BDA */
    EXPECT(in_ram((u32)bp, 0x1000));                         /* the zero page itself */
    EXPECT(in_ram(KERNEL_START, (u32)_end - KERNEL_START));  /* this kernel, bss included */
    EXPECT(!in_ram(0xa0000, 1) && !in_ram(0xfffff, 1));      /* the legacy hole */
    EXPECT_EQ(bp32(BP_ALT_MEM_K), (u32)((ram - 0x9fc00) >> 10));
    test_end();

    u32 rd = bp32(BP_RAMDISK_IMAGE), rd_size = bp32(BP_RAMDISK_SIZE);
    if (rd_size != 0) {
        test_begin("initrd-placement");
        EXPECT_EQ(rd & 0xfff, 0);
        EXPECT(in_ram(rd, rd_size));
        EXPECT(rd >= (u32)_end);                             /* clear of the kernel */
        EXPECT(rd + rd_size - 1 <= bp32(BP_INITRD_MAX));
        test_end();
        printf("initrd: %u bytes, fnv1a 0x%08x\n", rd_size, fnv1a((const u8 *)rd, rd_size));
    } else {
        printf("initrd: none\n");
    }
    test_finish();
}
