/* Identity maps and the CR0.PG switch. */
#include "paging.h"
#include "cpu.h"

void paging_identity_4k(u32 *pd, u32 *pts, u32 tables, u32 flags)
{
    for (u32 t = 0; t < tables; t++) {
        u32 *pt = pts + t * PT_ENTRIES;
        for (u32 i = 0; i < PT_ENTRIES; i++)
            pt[i] = ((t * PT_ENTRIES + i) * PAGE_SIZE) | flags;
        pd[t] = (u32)pt | flags;
    }
}

void paging_enable(u32 *pd)
{
    write_cr3((u32)pd);
    write_cr0(read_cr0() | CR0_PG);
}

void paging_disable(void)
{
    write_cr0(read_cr0() & ~CR0_PG);
}
