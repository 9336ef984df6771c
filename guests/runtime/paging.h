/* 32-bit paging structures (IA-32 SDM vol. 3 section 4.3, tables 4-4 to 4-6). */
#ifndef RT_PAGING_H
#define RT_PAGING_H
#include "types.h"

#define PAGE_SIZE 4096u
#define LARGE_PAGE_SIZE 0x400000u
#define PT_ENTRIES 1024u
#define PTE_P   0x001u   /* present */
#define PTE_RW  0x002u   /* writable */
#define PTE_US  0x004u   /* user */
#define PTE_PWT 0x008u
#define PTE_PCD 0x010u
#define PTE_A   0x020u   /* accessed */
#define PTE_D   0x040u   /* dirty */
#define PDE_PS  0x080u   /* 4 MiB page (CR4.PSE) */
#define PTE_G   0x100u
#define PTE_FRAME 0xFFFFF000u
#define PDE_LARGE_FRAME 0xFFC00000u
/* #PF error code bits (SDM vol. 3 figure 4-12). */
#define PF_P    0x1u     /* 0: not present, 1: protection */
#define PF_W    0x2u     /* write access */
#define PF_U    0x4u     /* CPL 3 access */
#define PF_RSVD 0x8u

#define PDE_INDEX(va) ((va) >> 22)
#define PTE_INDEX(va) (((va) >> 12) & 0x3FFu)

/* Fills pd entries 0..tables-1 with the page tables at pts (tables * 1024 entries), mapping the
 * first tables * 4 MiB one to one with 4 KiB pages and the given flags. */
void paging_identity_4k(u32 *pd, u32 *pts, u32 tables, u32 flags);
/* Loads CR3 and sets CR0.PG. */
void paging_enable(u32 *pd);
/* Clears CR0.PG. */
void paging_disable(void);
#endif
