/* cpu-paging: 32-bit paging with 4 KiB pages and 4 MiB (PSE) pages, #PF error codes and CR2 for
 * not-present pages, supervisor writes to read-only pages with CR0.WP=1 and WP=0, user accesses
 * to supervisor pages and read-only pages, instruction fetch from a supervisor page at CPL 3,
 * accessed/dirty bits, and INVLPG/CR3 reloads making changed entries visible.
 * SDM vol. 3 chapter 4 (4.3 paging, 4.6 access rights, 4.7 #PF, 4.8 A/D, 4.10 TLBs). */
#include "rt.h"

#define IDENTITY_TABLES 2u                 /* 0-8 MiB identity, 4 KiB pages */
#define TEST_VA 0x00800000u                /* PDE 2: the test page table */
#define UNMAPPED_VA 0x00c01234u            /* PDE 3: not present */
#define ALIAS_4M_VA 0x01000000u            /* PDE 4 in the PSE directory: a 4 MiB page */
#define ALIAS_4M_PA 0x00400000u
#define ID_FLAGS (PTE_P | PTE_RW | PTE_US)

static u32 pd[PT_ENTRIES] __attribute__((aligned(4096)));
static u32 pts[IDENTITY_TABLES * PT_ENTRIES] __attribute__((aligned(4096)));
static u32 test_pt[PT_ENTRIES] __attribute__((aligned(4096)));
static u32 pd_pse[PT_ENTRIES] __attribute__((aligned(4096)));
static u8 frame_a[PAGE_SIZE] __attribute__((aligned(4096)));
static u8 frame_b[PAGE_SIZE] __attribute__((aligned(4096)));

volatile u32 paging_probe_addr;
void user_read_probe(void), user_write_probe(void);

static volatile u32 probe_value;
static void read_probe(void) { probe_value = *(volatile u32 *)paging_probe_addr; }
static void write_probe(void) { *(volatile u32 *)paging_probe_addr = 0xbeef; }

/* Maps page n of the test window (TEST_VA + n * 4 KiB) to frame with flags; INVLPG. */
static u32 map_test(u32 n, const void *frame, u32 flags)
{
    u32 va = TEST_VA + n * PAGE_SIZE;
    test_pt[n] = (u32)frame | flags;
    invlpg(va);
    return va;
}

static void setup(void)
{
    memset(pd, 0, sizeof(pd));
    paging_identity_4k(pd, pts, IDENTITY_TABLES, ID_FLAGS);
    memset(test_pt, 0, sizeof(test_pt));
    pd[PDE_INDEX(TEST_VA)] = (u32)test_pt | PTE_P | PTE_RW | PTE_US;
}

static int expect_pf(void (*body)(void), u32 addr, u32 error)
{
    paging_probe_addr = addr;
    int v = catch_exception(body);
    int ok = EXPECT_EQ(v, VEC_PF);
    ok &= EXPECT_EQ(last_exception.cr2, addr);
    ok &= EXPECT_EQ(last_exception.error_code, error);
    return ok;
}

static void test_4k(void)
{
    test_begin("paging-4k-identity");
    paging_enable(pd);
    EXPECT_EQ(read_cr0() & CR0_PG, CR0_PG);
    EXPECT_EQ(read_cr3(), (u32)pd);
    /* Code, stack and data keep working through the identity map; a second mapping aliases. */
    frame_a[0] = 0x11;
    u32 va = map_test(0, frame_a, PTE_P | PTE_RW);
    EXPECT_EQ(*(volatile u8 *)va, 0x11);
    *(volatile u32 *)(va + 0x100) = 0xa1a2a3a4;
    EXPECT_EQ(peek32(frame_a + 0x100), 0xa1a2a3a4);
    /* The offset within the page comes from the linear address. */
    *(u32 *)(frame_a + 0xffc) = 0x5ca1ab1e;
    EXPECT_EQ(*(volatile u32 *)(va + 0xffc), 0x5ca1ab1e);
    test_end();
}

static void test_not_present(void)
{
    test_begin("pf-not-present-pde");
    expect_pf(read_probe, UNMAPPED_VA, 0);
    expect_pf(write_probe, UNMAPPED_VA, PF_W);
    test_end();
    test_begin("pf-not-present-pte");
    u32 va = map_test(1, frame_a, PTE_RW);   /* P = 0 */
    expect_pf(read_probe, va + 8, 0);
    expect_pf(write_probe, va + 12, PF_W);
    test_end();
}

static void test_write_protect(void)
{
    u32 va = map_test(2, frame_a, PTE_P);   /* read-only, supervisor */
    test_begin("pf-wp1-supervisor-write-readonly");
    write_cr0(read_cr0() | CR0_WP);
    expect_pf(write_probe, va + 4, PF_P | PF_W);
    test_end();
    test_begin("wp0-supervisor-write-readonly");
    write_cr0(read_cr0() & ~CR0_WP);
    paging_probe_addr = va + 4;
    EXPECT_EQ(catch_exception(write_probe), NO_EXCEPTION);
    EXPECT_EQ(peek32(frame_a + 4), 0xbeef);
    test_end();
    test_begin("pf-pde-readonly-wp1");
    /* A read-only PDE write-protects its whole 4 MiB even when the PTE is writable. */
    u32 va2 = map_test(3, frame_a, PTE_P | PTE_RW);
    pd[PDE_INDEX(TEST_VA)] &= ~PTE_RW;
    invlpg(va2);
    write_cr0(read_cr0() | CR0_WP);
    expect_pf(write_probe, va2, PF_P | PF_W);
    pd[PDE_INDEX(TEST_VA)] |= PTE_RW;
    invlpg(va2);
    write_cr0(read_cr0() & ~CR0_WP);
    test_end();
}

static void test_user(void)
{
    test_begin("pf-user-read-supervisor");
    u32 va = map_test(4, frame_a, PTE_P | PTE_RW);   /* U/S = 0 */
    paging_probe_addr = va;
    EXPECT_EQ(user_run(user_read_probe, 0), VEC_PF);
    EXPECT_EQ(last_exception.cr2, va);
    EXPECT_EQ(last_exception.error_code, PF_P | PF_U);
    EXPECT_EQ(last_exception.cs & 3, 3);
    test_end();

    test_begin("pf-user-write-readonly");
    u32 va2 = map_test(5, frame_a, PTE_P | PTE_US);
    paging_probe_addr = va2 + 16;
    EXPECT_EQ(user_run(user_write_probe, 0), VEC_PF);
    EXPECT_EQ(last_exception.cr2, va2 + 16);
    EXPECT_EQ(last_exception.error_code, PF_P | PF_W | PF_U);
    /* Reading the same user page is fine. */
    EXPECT_EQ(user_run(user_read_probe, 0), USER_EXIT_VECTOR);
    test_end();

    test_begin("pf-user-not-present");
    paging_probe_addr = UNMAPPED_VA;
    EXPECT_EQ(user_run(user_write_probe, 0), VEC_PF);
    EXPECT_EQ(last_exception.error_code, PF_W | PF_U);
    test_end();

    test_begin("user-access-user-page");
    u32 va3 = map_test(6, frame_b, PTE_P | PTE_RW | PTE_US);
    paging_probe_addr = va3;
    EXPECT_EQ(user_run(user_write_probe, 0), USER_EXIT_VECTOR);
    EXPECT_EQ(peek32(frame_b), 0x600d);
    test_end();

    test_begin("pf-user-fetch-supervisor");
    /* The page holding the probe code, aliased in the test window as a supervisor page. */
    u32 code = (u32)user_read_probe;
    u32 alias = map_test(7, (const void *)(code & PTE_FRAME), PTE_P) + (code & 0xfff);
    paging_probe_addr = (u32)frame_b;
    EXPECT_EQ(user_run((void (*)(void))alias, 0), VEC_PF);
    EXPECT_EQ(last_exception.cr2, alias);
    EXPECT_EQ(last_exception.eip, alias);
    EXPECT_EQ(last_exception.error_code, PF_P | PF_U);
    test_end();
}

static void test_accessed_dirty(void)
{
    test_begin("accessed-dirty-bits");
    u32 va = map_test(8, frame_b, PTE_P | PTE_RW);
    pd[PDE_INDEX(TEST_VA)] &= ~PTE_A;
    write_cr3(read_cr3());   /* flush every TLB entry: the PDE changed */
    EXPECT_EQ(peek32(&test_pt[8]) & (PTE_A | PTE_D), 0);
    (void)*(volatile u32 *)va;
    EXPECT_EQ(peek32(&test_pt[8]) & (PTE_A | PTE_D), PTE_A);
    EXPECT_EQ(peek32(&pd[PDE_INDEX(TEST_VA)]) & PTE_A, PTE_A);
    *(volatile u32 *)(va + 4) = 1;
    EXPECT_EQ(peek32(&test_pt[8]) & (PTE_A | PTE_D), PTE_A | PTE_D);
    EXPECT_EQ(peek32(&pd[PDE_INDEX(TEST_VA)]) & PTE_D, 0);   /* PDEs of 4 KiB tables have no dirty bit */
    /* A write as the first access sets both. */
    u32 va2 = map_test(9, frame_b, PTE_P | PTE_RW);
    *(volatile u32 *)(va2 + 8) = 2;
    EXPECT_EQ(peek32(&test_pt[9]) & (PTE_A | PTE_D), PTE_A | PTE_D);
    /* A faulting access sets neither. */
    u32 va3 = map_test(10, frame_b, PTE_P);
    write_cr0(read_cr0() | CR0_WP);
    paging_probe_addr = va3;
    EXPECT_EQ(catch_exception(write_probe), VEC_PF);
    EXPECT_EQ(peek32(&test_pt[10]) & PTE_D, 0);
    write_cr0(read_cr0() & ~CR0_WP);
    test_end();
}

static void test_invlpg(void)
{
    test_begin("invlpg-flushes-changed-pte");
    *(u32 *)frame_a = 0xaaaa0001;
    *(u32 *)frame_b = 0xbbbb0002;
    u32 va = map_test(11, frame_a, PTE_P | PTE_RW);
    EXPECT_EQ(*(volatile u32 *)va, 0xaaaa0001);    /* now cached in the TLB */
    test_pt[11] = (u32)frame_b | PTE_P | PTE_RW;   /* without INVLPG the old translation may stay */
    invlpg(va);
    EXPECT_EQ(*(volatile u32 *)va, 0xbbbb0002);
    test_pt[11] = (u32)frame_a | PTE_P | PTE_RW;
    write_cr3(read_cr3());                          /* a CR3 write flushes as well */
    EXPECT_EQ(*(volatile u32 *)va, 0xaaaa0001);
    /* Making a page not present takes effect after INVLPG. */
    test_pt[11] = 0;
    invlpg(va);
    EXPECT(expect_pf(read_probe, va, 0));
    test_end();
}

static void test_cross_page(void)
{
    test_begin("access-crossing-pages");
    /* Two consecutive linear pages backed by frames in the opposite order. */
    u32 va = map_test(12, frame_b, PTE_P | PTE_RW);
    map_test(13, frame_a, PTE_P | PTE_RW);
    frame_b[0xffe] = 0x11; frame_b[0xfff] = 0x22;
    frame_a[0] = 0x33; frame_a[1] = 0x44;
    EXPECT_EQ(peek32((const void *)(va + 0xffe)), 0x44332211);
    *(volatile u32 *)(va + 0xffd) = 0xa1b2c3d4;
    barrier();
    EXPECT_EQ(frame_b[0xffd], 0xd4);
    EXPECT_EQ(frame_b[0xfff], 0xb2);
    EXPECT_EQ(frame_a[0], 0xa1);
    /* If the second page is not present the access faults (and the first page is not written). */
    test_pt[13] = 0;
    invlpg(va + PAGE_SIZE);
    frame_b[0xffe] = 0;
    paging_probe_addr = va + 0xffe;
    EXPECT_EQ(catch_exception(write_probe), VEC_PF);
    EXPECT_EQ(last_exception.error_code, PF_W);
    EXPECT_EQ(frame_b[0xffe], 0);
    test_end();
}

/* #PF in the middle of REP MOVSB: the handler sees how far the copy got, maps the page, and
 * returns; the instruction restarts and finishes (SDM vol. 3 section 6.6: faults are restartable;
 * vol. 2 REP: the registers reflect the completed iterations). */
static volatile u32 pf_ecx, pf_esi, pf_edi, pf_cr2, pf_count;
static u32 pf_fix_va;
static void pf_map_handler(struct trap_frame *f)
{
    pf_count++;
    pf_ecx = f->ecx;
    pf_esi = f->esi;
    pf_edi = f->edi;
    pf_cr2 = read_cr2();
    test_pt[PTE_INDEX(pf_fix_va)] = (u32)frame_b | PTE_P | PTE_RW;
    invlpg(pf_fix_va);
}

static void test_rep_restart(void)
{
    test_begin("rep-movs-pf-restart");
    static u8 source[64];
    for (u32 i = 0; i < sizeof(source); i++) source[i] = (u8)(0x80 + i);
    u32 va = map_test(14, frame_a, PTE_P | PTE_RW);
    pf_fix_va = va + PAGE_SIZE;
    test_pt[15] = 0;
    invlpg(pf_fix_va);
    memset(frame_a + 0xfe0, 0, 0x20);
    memset(frame_b, 0, 0x40);
    pf_count = 0;
    trap_set_handler(VEC_PF, pf_map_handler);
    u32 s = (u32)source, d = va + 0xff0, c = 48;   /* 16 bytes fit, the 17th faults */
    __asm__ volatile("cld; rep movsb" : "+S"(s), "+D"(d), "+c"(c) : : "memory");
    trap_set_handler(VEC_PF, NULL);
    EXPECT_EQ(pf_count, 1);
    EXPECT_EQ(pf_cr2, va + PAGE_SIZE);
    EXPECT_EQ(pf_ecx, 48 - 16);
    EXPECT_EQ(pf_esi, (u32)source + 16);
    EXPECT_EQ(pf_edi, va + PAGE_SIZE);
    EXPECT_EQ(c, 0);
    EXPECT_EQ(d, va + 0xff0 + 48);
    barrier();
    EXPECT(memcmp(frame_a + 0xff0, source, 16) == 0);
    EXPECT(memcmp(frame_b, source + 16, 32) == 0);
    test_end();
}

static void test_pse(void)
{
    test_begin("paging-4m-pse");
    paging_disable();
    memset(pd_pse, 0, sizeof(pd_pse));
    pd_pse[0] = 0x00000000 | PDE_PS | PTE_P | PTE_RW | PTE_US;
    pd_pse[1] = 0x00400000 | PDE_PS | PTE_P | PTE_RW | PTE_US;
    pd_pse[PDE_INDEX(ALIAS_4M_VA)] = ALIAS_4M_PA | PDE_PS | PTE_P | PTE_RW;
    write_cr4(read_cr4() | CR4_PSE);
    paging_enable(pd_pse);
    volatile u32 *phys = (volatile u32 *)(ALIAS_4M_PA + 0x12344);
    volatile u32 *alias = (volatile u32 *)(ALIAS_4M_VA + 0x12344);
    *phys = 0x4a4a4a4a;
    EXPECT_EQ(*alias, 0x4a4a4a4a);
    *alias = 0x5b5b5b5b;
    EXPECT_EQ(*phys, 0x5b5b5b5b);
    /* A 4 MiB page gets A and D in its PDE. */
    EXPECT_EQ(peek32(&pd_pse[PDE_INDEX(ALIAS_4M_VA)]) & (PTE_A | PTE_D), PTE_A | PTE_D);
    /* Past the mapped large pages: not present, CR2 exact. */
    EXPECT(expect_pf(read_probe, 0x01400010, 0));
    /* Without CR4.PSE the PS bit is ignored and the PDE points to a page table: clearing PSE
     * must not be done while running from a large page, so only read it back here. */
    EXPECT_EQ(read_cr4() & CR4_PSE, CR4_PSE);
    paging_disable();
    write_cr4(read_cr4() & ~CR4_PSE);
    test_end();
}

int main(u32 magic, const struct multiboot_info *info)
{
    (void)magic; (void)info;
    rt_init();
    setup();
    test_4k();
    test_not_present();
    test_write_protect();
    test_user();
    test_accessed_dirty();
    test_invlpg();
    test_cross_page();
    test_rep_restart();
    paging_disable();
    test_pse();
    test_begin("paging-off-again");
    EXPECT_EQ(read_cr0() & CR0_PG, 0);
    *(volatile u32 *)(ALIAS_4M_PA + 0x12344) = 7;
    EXPECT_EQ(*(volatile u32 *)(ALIAS_4M_PA + 0x12344), 7);
    test_end();
    test_finish();
}
