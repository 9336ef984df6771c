/* Page-table-heavy work, iters= (default 200) rounds: map 64 pages of a window at 1 GiB onto
 * frames from a pool (rotating per round), touch each (write then read), unmap every other one
 * with INVLPG, reload CR3, touch the rest again, then unmap all. 32-bit paging, 4 KiB pages, the
 * first 8 MiB identity-mapped (IA-32 SDM vol. 3 sections 4.3 and 4.10.4). */
#include "rt.h"

#define IDENTITY_TABLES 2            /* 8 MiB */
#define WINDOW_VA 0x40000000u
#define WINDOW_PAGES 64
#define POOL_BASE 0x00400000u        /* frames 4 MiB .. 4 MiB + 256 KiB, inside the identity map */
#define POOL_PAGES 64

static u32 pd[PT_ENTRIES] __attribute__((aligned(PAGE_SIZE)));
static u32 pts[IDENTITY_TABLES * PT_ENTRIES] __attribute__((aligned(PAGE_SIZE)));
static u32 window_pt[PT_ENTRIES] __attribute__((aligned(PAGE_SIZE)));

int main(u32 magic, const struct multiboot_info *info)
{
    (void)magic;
    bench_begin(info);
    u32 iters = cmdline_u32("iters", 200);
    paging_identity_4k(pd, pts, IDENTITY_TABLES, PTE_P | PTE_RW);
    pd[PDE_INDEX(WINDOW_VA)] = (u32)window_pt | PTE_P | PTE_RW;
    paging_enable(pd);
    u32 sum = 0, bad = 0;
    for (u32 it = 0; it < iters; it++) {
        for (u32 p = 0; p < WINDOW_PAGES; p++)
            window_pt[p] = (POOL_BASE + ((p + it) % POOL_PAGES) * PAGE_SIZE) | PTE_P | PTE_RW;
        for (u32 p = 0; p < WINDOW_PAGES; p++) {
            volatile u32 *v = (volatile u32 *)(WINDOW_VA + p * PAGE_SIZE);
            *v = it * 1000 + p;
            sum += *v;
        }
        for (u32 p = 0; p < WINDOW_PAGES; p += 2) {
            window_pt[p] = 0;
            invlpg(WINDOW_VA + p * PAGE_SIZE);
        }
        write_cr3(read_cr3());
        for (u32 p = 1; p < WINDOW_PAGES; p += 2) {
            volatile u32 *v = (volatile u32 *)(WINDOW_VA + p * PAGE_SIZE);
            if (*v != it * 1000 + p) bad++;
            /* The same frame through the identity map. */
            u32 frame = POOL_BASE + ((p + it) % POOL_PAGES) * PAGE_SIZE;
            if (peek32((const void *)frame) != it * 1000 + p) bad++;
        }
        for (u32 p = 1; p < WINDOW_PAGES; p += 2) {
            window_pt[p] = 0;
            invlpg(WINDOW_VA + p * PAGE_SIZE);
        }
    }
    paging_disable();
    char params[32], result[40];
    snprintf(params, sizeof(params), "iters=%u", iters);
    snprintf(result, sizeof(result), bad ? "mismatches=%u" : "checksum=0x%08x", bad ? bad : sum);
    bench_end("bench-paging", params, result, !bad);
}
