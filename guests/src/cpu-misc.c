/* cpu-misc: string instructions with REP/REPE/REPNE and DF=1, BT/BTS/BTR/BTC (register, immediate
 * and memory forms with large bit offsets), BSF/BSR, SETcc/CMOVcc/Jcc over every flag combination,
 * XCHG/XADD/CMPXCHG/CMPXCHG8B with LOCK, BSWAP, ENTER/LEAVE with nesting levels, PUSHA/POPA,
 * operand- and address-size prefixes (0x66/0x67) in 32-bit code, and assorted data movement
 * (MOVZX/MOVSX, CBW/CWDE/CWD/CDQ, LAHF/SAHF, XLAT, LOOP/JECXZ). SDM vol. 2 per instruction. */
#include "rt.h"

#define ST EFLAGS_STATUS

/* --- string instructions ------------------------------------------------------------------ */

static u8 src_buf[64], dst_buf[64];

static void fill(u8 *p, u32 n, u8 seed)
{
    for (u32 i = 0; i < n; i++) p[i] = (u8)(seed + i * 7);
}

static void test_movs(void)
{
    test_begin("rep-movs");
    fill(src_buf, 64, 1);
    memset(dst_buf, 0, 64);
    u32 s = (u32)src_buf, d = (u32)dst_buf, c = 5;
    __asm__ volatile("cld; rep movsl" : "+S"(s), "+D"(d), "+c"(c) : : "memory");
    EXPECT_EQ(c, 0);
    EXPECT_EQ(s, (u32)src_buf + 20);
    EXPECT_EQ(d, (u32)dst_buf + 20);
    EXPECT(memcmp(dst_buf, src_buf, 20) == 0);
    EXPECT_EQ(dst_buf[20], 0);
    /* DF=1: copy backwards from the last byte. */
    memset(dst_buf, 0, 64);
    s = (u32)src_buf + 9; d = (u32)dst_buf + 9; c = 10;
    __asm__ volatile("std; rep movsb; cld" : "+S"(s), "+D"(d), "+c"(c) : : "memory");
    EXPECT_EQ(s, (u32)src_buf - 1);
    EXPECT_EQ(d, (u32)dst_buf - 1);
    EXPECT(memcmp(dst_buf, src_buf, 10) == 0);
    EXPECT_EQ(dst_buf[10], 0);
    /* MOVSW with DF=1 steps by 2. */
    s = (u32)src_buf + 30; d = (u32)dst_buf + 30; c = 3;
    __asm__ volatile("std; rep movsw; cld" : "+S"(s), "+D"(d), "+c"(c) : : "memory");
    EXPECT_EQ(s, (u32)src_buf + 24);
    EXPECT(memcmp(dst_buf + 26, src_buf + 26, 6) == 0);
    /* REP with ECX = 0 does nothing. */
    s = (u32)src_buf; d = (u32)dst_buf + 40; c = 0;
    dst_buf[40] = 0xEE;
    __asm__ volatile("cld; rep movsb" : "+S"(s), "+D"(d), "+c"(c) : : "memory");
    EXPECT_EQ(dst_buf[40], 0xEE);
    EXPECT_EQ(s, (u32)src_buf);
    test_end();
}

static void test_stos_lods(void)
{
    test_begin("rep-stos-lods");
    memset(dst_buf, 0, 64);
    u32 d = (u32)dst_buf, c = 7, a = 0x5a;
    __asm__ volatile("cld; rep stosb" : "+D"(d), "+c"(c) : "a"(a) : "memory");
    EXPECT_EQ(d, (u32)dst_buf + 7);
    EXPECT(dst_buf[6] == 0x5a && dst_buf[7] == 0);
    d = (u32)dst_buf + 60; c = 3; a = 0x12345678;
    __asm__ volatile("std; rep stosl; cld" : "+D"(d), "+c"(c) : "a"(a) : "memory");
    EXPECT_EQ(d, (u32)dst_buf + 48);
    EXPECT_EQ(*(u32 *)(dst_buf + 52), 0x12345678);
    fill(src_buf, 64, 3);
    u32 s = (u32)src_buf + 4;
    a = 0xffffffff;
    __asm__ volatile("cld; lodsw" : "+S"(s), "+a"(a) : : "memory");
    EXPECT_EQ(a, 0xffff0000u | src_buf[4] | (src_buf[5] << 8));
    EXPECT_EQ(s, (u32)src_buf + 6);
    __asm__ volatile("std; lodsb; cld" : "+S"(s), "+a"(a) : : "memory");
    EXPECT_EQ(a & 0xff, src_buf[6]);
    EXPECT_EQ(s, (u32)src_buf + 5);
    test_end();
}

static void test_cmps_scas(void)
{
    test_begin("repe-cmps-repne-scas");
    fill(src_buf, 64, 9);
    memcpy(dst_buf, src_buf, 64);
    dst_buf[13] ^= 0x40;
    u32 s = (u32)src_buf, d = (u32)dst_buf, c = 40, f;
    __asm__ volatile("cld; repe cmpsb; pushfl; popl %3" : "+S"(s), "+D"(d), "+c"(c), "=r"(f) : : "memory", "cc");
    /* Stops after comparing index 13, the first difference. */
    EXPECT_EQ(c, 40 - 14);
    EXPECT_EQ(s, (u32)src_buf + 14);
    EXPECT_EQ(f & EFLAGS_ZF, 0);
    /* Equal all the way: ECX runs out with ZF=1. */
    s = (u32)src_buf; d = (u32)dst_buf; c = 13;
    __asm__ volatile("cld; repe cmpsb; pushfl; popl %3" : "+S"(s), "+D"(d), "+c"(c), "=r"(f) : : "memory", "cc");
    EXPECT_EQ(c, 0);
    EXPECT_EQ(f & EFLAGS_ZF, EFLAGS_ZF);
    /* REPNE SCASB finds a byte; with DF=1 it walks downwards. */
    u32 a = src_buf[20];
    d = (u32)src_buf; c = 64;
    __asm__ volatile("cld; repne scasb; pushfl; popl %2" : "+D"(d), "+c"(c), "=r"(f) : "a"(a) : "memory", "cc");
    EXPECT_EQ(d, (u32)src_buf + 21);
    EXPECT_EQ(c, 64 - 21);
    EXPECT_EQ(f & EFLAGS_ZF, EFLAGS_ZF);
    a = src_buf[2];
    d = (u32)src_buf + 10; c = 64;
    __asm__ volatile("std; repne scasb; pushfl; popl %2; cld" : "+D"(d), "+c"(c), "=r"(f) : "a"(a) : "memory", "cc");
    EXPECT_EQ(d, (u32)src_buf + 1);
    EXPECT_EQ(c, 64 - 9);
    /* CMPSD sets flags as CMP of [ESI] - [EDI]. */
    u32 x = 1, y = 2;
    s = (u32)&x; d = (u32)&y;
    __asm__ volatile("cld; cmpsl; pushfl; popl %2" : "+S"(s), "+D"(d), "=r"(f) : "m"(x), "m"(y) : "cc");
    EXPECT_EQ(f & (EFLAGS_CF | EFLAGS_ZF | EFLAGS_SF), EFLAGS_CF | EFLAGS_SF);
    test_end();
}

/* 0x67 in 32-bit code: string instructions use SI/DI/CX, and 16-bit offsets wrap. The buffers
 * live in conventional memory below 64 KiB. */
#define LOW_BUF 0x6000u

static void test_addr16(void)
{
    test_begin("prefix-67-addressing");
    u8 *low = (u8 *)LOW_BUF;
    fill(low, 32, 0x30);
    memset(low + 0x100, 0, 32);
    u32 s = 0xabcd0000u | LOW_BUF, d = 0x12340000u | (LOW_BUF + 0x100), c = 0xffff0004u;
    __asm__ volatile("cld; addr16 rep movsb" : "+S"(s), "+D"(d), "+c"(c) : : "memory");
    EXPECT_EQ(c, 0xffff0000u);          /* only CX counts */
    EXPECT_EQ(s, 0xabcd0000u | (LOW_BUF + 4));
    EXPECT_EQ(d, 0x12340000u | (LOW_BUF + 0x104));
    EXPECT(memcmp(low + 0x100, low, 4) == 0);
    /* SI wraps from 0xFFFF to 0x0000 and the upper half of ESI is untouched. */
    s = 0x0000ffff; d = LOW_BUF + 0x200; c = 2;
    __asm__ volatile("cld; addr16 rep movsb" : "+S"(s), "+D"(d), "+c"(c) : : "memory");
    EXPECT_EQ(s, 0x00000001);
    /* 16-bit addressing forms: [BX+SI], [BP+DI+disp8] (SS), [disp16]; the sum wraps at 64 KiB. */
    u32 v1, v2, v3;
    *(u32 *)(LOW_BUF + 0x40) = 0xfeedf00d;
    *(u32 *)(LOW_BUF + 0x44) = 0xcafebabe;
    *(u32 *)(LOW_BUF + 0x48) = 0x0badc0de;
    __asm__ volatile("movl %3, %%ebx; movl %4, %%esi; addr16 movl (%%bx,%%si), %0\n\t"
                     "movl %5, %%ebx; movl $2, %%esi; addr16 movl (%%bx,%%si), %1\n\t"
                     "addr16 movl 0x6048, %2"
                     : "=&r"(v1), "=&r"(v2), "=&r"(v3)
                     : "i"(LOW_BUF), "i"(0x40), "i"(0xffff0000u | (LOW_BUF + 0x42))
                     : "ebx", "esi", "memory");
    EXPECT_EQ(v1, 0xfeedf00d);
    EXPECT_EQ(v2, 0xcafebabe);
    EXPECT_EQ(v3, 0x0badc0de);
    u32 lea;
    __asm__ volatile("movl $0xffff, %%ebx; movl $3, %%edi; addr16 leal 0x10(%%bx,%%di), %0"
                     : "=r"(lea) : : "ebx", "edi");
    EXPECT_EQ(lea, 0x12);
    /* JCXZ tests CX only under 0x67. */
    u32 taken;
    __asm__ volatile("movl $0x10000, %%ecx; movl $0, %0; addr16 jecxz 1f; movl $2, %0; jmp 2f; 1: movl $1, %0; 2:"
                     : "=r"(taken) : : "ecx");
    EXPECT_EQ(taken, 1);
    test_end();
}

static void test_prefix66(void)
{
    test_begin("prefix-66-operand-size");
    u32 esp_before, esp_after, v = 0x11112222, w;
    __asm__ volatile("movl %%esp, %0; pushw %w3; movl %%esp, %1; popw %w2; addl $0, %%esp"
                     : "=&r"(esp_before), "=&r"(esp_after), "=&r"(w) : "r"(v) : "memory");
    EXPECT_EQ(esp_before - esp_after, 2);
    EXPECT_EQ(w & 0xffff, 0x2222);
    u32 r = 0xaaaaffff;
    __asm__ volatile("incw %w0" : "+r"(r) : : "cc");
    EXPECT_EQ(r, 0xaaaa0000);
    r = 0x12345678;
    __asm__ volatile("movw $0x9abc, %w0" : "+r"(r));
    EXPECT_EQ(r, 0x12349abc);
    u32 x = 0x80;
    __asm__ volatile("movsbw %b1, %w0" : "=r"(r) : "q"(x));
    EXPECT_EQ(r & 0xffff, 0xff80);
    test_end();
}

/* --- bit instructions --------------------------------------------------------------------- */

static u32 bitmap[16];

static void test_bt(void)
{
    test_begin("bt-bts-btr-btc");
    u32 v = 0x80000001, f;
    __asm__ volatile("btl $31, %1; pushfl; popl %0" : "=r"(f) : "r"(v) : "cc");
    EXPECT_EQ(f & EFLAGS_CF, EFLAGS_CF);
    /* Register bit offsets are taken modulo the operand size. */
    u32 off = 32 + 1;
    __asm__ volatile("btl %2, %1; pushfl; popl %0" : "=r"(f) : "r"(v), "r"(off) : "cc");
    EXPECT_EQ(f & EFLAGS_CF, 0);
    off = 64;
    __asm__ volatile("btsl %2, %1; pushfl; popl %0" : "=r"(f), "+r"(v) : "r"(off) : "cc");
    EXPECT_EQ(f & EFLAGS_CF, EFLAGS_CF);
    EXPECT_EQ(v, 0x80000001);
    __asm__ volatile("btrl $31, %1; pushfl; popl %0" : "=r"(f), "+r"(v) : : "cc");
    EXPECT_EQ(f & EFLAGS_CF, EFLAGS_CF);
    EXPECT_EQ(v, 1);
    __asm__ volatile("btcl $4, %1; pushfl; popl %0" : "=r"(f), "+r"(v) : : "cc");
    EXPECT_EQ(f & EFLAGS_CF, 0);
    EXPECT_EQ(v, 0x11);
    u32 w = 0x00010000;
    off = 16 + 16;   /* 16-bit form: offset mod 16 = 0 */
    __asm__ volatile("btsw %w2, %w1; pushfl; popl %0" : "=r"(f), "+r"(w) : "r"(off) : "cc");
    EXPECT_EQ(w, 0x00010001);
    /* Memory with a register offset: the offset is signed and selects any bit in memory. */
    memset(bitmap, 0, sizeof(bitmap));
    u32 *base = &bitmap[8];
    s32 soff = 100;   /* bit 4 of dword 3 */
    __asm__ volatile("btsl %2, %1; pushfl; popl %0" : "=r"(f), "+m"(*base) : "r"(soff), "m"(bitmap) : "cc", "memory");
    EXPECT_EQ(bitmap[8 + 3], 1u << 4);
    EXPECT_EQ(f & EFLAGS_CF, 0);
    soff = -200;      /* -200 = -7*32 + 24: bit 24 of dword -7 */
    __asm__ volatile("btsl %2, %1; pushfl; popl %0" : "=r"(f), "+m"(*base) : "r"(soff), "m"(bitmap) : "cc", "memory");
    EXPECT_EQ(bitmap[8 - 7], 1u << 24);
    __asm__ volatile("btcl %2, %1; pushfl; popl %0" : "=r"(f), "+m"(*base) : "r"(soff), "m"(bitmap) : "cc", "memory");
    EXPECT_EQ(f & EFLAGS_CF, EFLAGS_CF);
    EXPECT_EQ(bitmap[8 - 7], 0);
    soff = 100;
    __asm__ volatile("btrl %2, %1; pushfl; popl %0" : "=r"(f), "+m"(*base) : "r"(soff), "m"(bitmap) : "cc", "memory");
    EXPECT_EQ(f & EFLAGS_CF, EFLAGS_CF);
    EXPECT_EQ(bitmap[8 + 3], 0);
    /* Memory with an immediate offset: modulo the operand size, no addressing beyond. */
    bitmap[8] = 0;
    __asm__ volatile("btsl $35, %0" : "+m"(bitmap[8]) : : "cc");
    EXPECT_EQ(bitmap[8], 1u << 3);
    EXPECT_EQ(bitmap[9], 0);
    /* 16-bit memory form with a register offset addresses words. */
    memset(bitmap, 0, sizeof(bitmap));
    u16 *wbase = (u16 *)&bitmap[8];
    u32 o16 = 0xfff0;  /* -16 as a 16-bit signed offset: bit 0 of the previous word */
    __asm__ volatile("btsw %w1, %0" : "+m"(*wbase) : "r"(o16), "m"(bitmap) : "cc", "memory");
    EXPECT_EQ(bitmap[7], 0x00010000);
    test_end();
}

static void test_bsf_bsr(void)
{
    test_begin("bsf-bsr");
    for (u32 i = 0; i < 32; i++) {
        for (u32 j = 0; j <= i; j += 3) {
            u32 v = (1u << i) | (1u << j), fw, rw, ff, fr;
            __asm__ volatile("bsfl %2, %0; pushfl; popl %1" : "=r"(fw), "=r"(ff) : "r"(v) : "cc");
            __asm__ volatile("bsrl %2, %0; pushfl; popl %1" : "=r"(rw), "=r"(fr) : "r"(v) : "cc");
            if (fw != j || rw != i || (ff & EFLAGS_ZF) || (fr & EFLAGS_ZF)) {
                test_failf("v=0x%x: bsf %u bsr %u", v, fw, rw);
                goto out;
            }
        }
    }
    u32 zero = 0, r = 0x1234, f;
    __asm__ volatile("bsfl %2, %0; pushfl; popl %1" : "+r"(r), "=r"(f) : "r"(zero) : "cc");
    EXPECT_EQ(f & EFLAGS_ZF, EFLAGS_ZF);   /* the destination is undefined; not checked */
    __asm__ volatile("bsrl %2, %0; pushfl; popl %1" : "+r"(r), "=r"(f) : "r"(zero) : "cc");
    EXPECT_EQ(f & EFLAGS_ZF, EFLAGS_ZF);
    u32 w = 0x00f0;
    __asm__ volatile("bsrw %w1, %w0" : "=r"(r) : "r"(w) : "cc");
    EXPECT_EQ(r & 0xffff, 7);
out:
    test_end();
}

/* --- condition codes ---------------------------------------------------------------------- */

/* The 16 conditions in opcode order (SDM vol. 1 table B-1). */
static int condition(u32 cc, u32 f)
{
    int cf = !!(f & EFLAGS_CF), zf = !!(f & EFLAGS_ZF), sf = !!(f & EFLAGS_SF), of = !!(f & EFLAGS_OF),
        pf = !!(f & EFLAGS_PF);
    int r;
    switch (cc >> 1) {
    case 0: r = of; break;
    case 1: r = cf; break;
    case 2: r = zf; break;
    case 3: r = cf || zf; break;
    case 4: r = sf; break;
    case 5: r = pf; break;
    case 6: r = sf != of; break;
    default: r = zf || sf != of; break;
    }
    return cc & 1 ? !r : r;
}

#define CC_LIST(X) X(0, o) X(1, no) X(2, b) X(3, ae) X(4, e) X(5, ne) X(6, be) X(7, a) \
    X(8, s) X(9, ns) X(10, p) X(11, np) X(12, l) X(13, ge) X(14, le) X(15, g)

#define SETCC_FN(n, cc) \
    static void cc_##cc(u32 f, u32 *set, u32 *mov, u32 *jmp) \
    { \
        u32 s = 0xffffff00, m = 0x1111, j; \
        __asm__ volatile("pushl %4; popfl; set" #cc " %b0; cmov" #cc "l %5, %1; j" #cc " 1f; movl $0, %2; jmp 2f;" \
                         " 1: movl $1, %2; 2:" : "+q"(s), "+r"(m), "=r"(j) : "0"(s), "r"(f), "r"(0x2222u) : "cc"); \
        *set = s; *mov = m; *jmp = j; \
    }
CC_LIST(SETCC_FN)
#define SETCC_ENTRY(n, cc) cc_##cc,
static void (*const cc_fns[16])(u32, u32 *, u32 *, u32 *) = { CC_LIST(SETCC_ENTRY) };

static void test_conditions(void)
{
    test_begin("setcc-cmovcc-jcc");
    static const u32 bits[] = { EFLAGS_CF, EFLAGS_PF, EFLAGS_ZF, EFLAGS_SF, EFLAGS_OF };
    for (u32 combo = 0; combo < 32; combo++) {
        u32 f = EFLAGS_FIXED;
        for (u32 b = 0; b < 5; b++)
            if (combo & (1u << b)) f |= bits[b];
        for (u32 cc = 0; cc < 16; cc++) {
            u32 set, mov, jmp;
            cc_fns[cc](f, &set, &mov, &jmp);
            u32 want = (u32)condition(cc, f);
            if (set != (0xffffff00u | want) || mov != (want ? 0x2222u : 0x1111u) || jmp != want) {
                test_failf("cc %u flags 0x%x: set 0x%x cmov 0x%x jmp %u, want %u", cc, f, set, mov, jmp, want);
                goto out;
            }
        }
    }
out:
    test_end();
}

/* --- exchange and atomics ------------------------------------------------------------------ */

static void test_xchg(void)
{
    test_begin("xchg-xadd-bswap");
    u32 a = 1, b = 2, m = 3;
    __asm__ volatile("xchgl %0, %1" : "+r"(a), "+r"(b));
    EXPECT(a == 2 && b == 1);
    __asm__ volatile("xchgl %0, %1" : "+r"(a), "+m"(m));
    EXPECT(a == 3 && m == 2);
    u32 c = 0x11223344, d = 0x55667788;
    __asm__ volatile("xchgb %b0, %h1" : "+q"(c), "+Q"(d));
    EXPECT_EQ(c, 0x11223377);
    EXPECT_EQ(d, 0x55664488);
    u32 x = 0xfffffffe, y = 3, f;
    __asm__ volatile("lock xaddl %0, %1; pushfl; popl %2" : "+r"(y), "+m"(x), "=r"(f) : : "cc", "memory");
    EXPECT_EQ(x, 1);
    EXPECT_EQ(y, 0xfffffffe);
    EXPECT_EQ(f & (EFLAGS_CF | EFLAGS_ZF), EFLAGS_CF);
    u32 bx = 0x7f, by = 1;
    __asm__ volatile("xaddb %b0, %b1; pushfl; popl %2" : "+q"(by), "+q"(bx), "=r"(f) : : "cc");
    EXPECT_EQ(bx & 0xff, 0x80);
    EXPECT_EQ(f & EFLAGS_OF, EFLAGS_OF);
    u32 s = 0x12345678;
    __asm__ volatile("bswap %0" : "+r"(s));
    EXPECT_EQ(s, 0x78563412);
    test_end();
}

static void test_cmpxchg(void)
{
    test_begin("cmpxchg");
    u32 mem = 100, acc = 100, newv = 200, f;
    __asm__ volatile("lock cmpxchgl %3, %1; pushfl; popl %2" : "+a"(acc), "+m"(mem), "=r"(f) : "r"(newv) : "cc", "memory");
    EXPECT_EQ(mem, 200);
    EXPECT_EQ(acc, 100);
    EXPECT_EQ(f & EFLAGS_ZF, EFLAGS_ZF);
    acc = 100;
    __asm__ volatile("lock cmpxchgl %3, %1; pushfl; popl %2" : "+a"(acc), "+m"(mem), "=r"(f) : "r"(newv) : "cc", "memory");
    EXPECT_EQ(acc, 200);                   /* failure loads the accumulator */
    EXPECT_EQ(f & (EFLAGS_ZF | EFLAGS_CF | EFLAGS_SF), EFLAGS_CF | EFLAGS_SF);  /* flags of CMP 100, 200 */
    u32 m16 = 0xaaaa1234, a16 = 0xbbbb1234;
    __asm__ volatile("cmpxchgw %w2, %w1" : "+a"(a16), "+r"(m16) : "r"(0x5678u) : "cc");
    EXPECT_EQ(m16, 0xaaaa5678);
    u32 m8 = 0x10, a8 = 0x20;
    __asm__ volatile("cmpxchgb %b2, %b1" : "+a"(a8), "+q"(m8) : "q"(0x30u) : "cc");
    EXPECT_EQ(a8 & 0xff, 0x10);
    EXPECT_EQ(m8, 0x10);
    test_end();
}

static void test_cmpxchg8b(void)
{
    test_begin("cmpxchg8b");
    u64 mem = 0x1122334455667788ull;
    u32 lo = 0x55667788, hi = 0x11223344, f;
    __asm__ volatile("lock cmpxchg8b %2; pushfl; popl %3"
                     : "+a"(lo), "+d"(hi), "+m"(mem), "=r"(f) : "b"(0xdeadbeefu), "c"(0xcafef00du) : "cc", "memory");
    EXPECT_EQ64(mem, 0xcafef00ddeadbeefull);
    EXPECT_EQ(f & EFLAGS_ZF, EFLAGS_ZF);
    lo = 0; hi = 0;
    __asm__ volatile("lock cmpxchg8b %2; pushfl; popl %3"
                     : "+a"(lo), "+d"(hi), "+m"(mem), "=r"(f) : "b"(1u), "c"(2u) : "cc", "memory");
    EXPECT_EQ(f & EFLAGS_ZF, 0);
    EXPECT_EQ(lo, 0xdeadbeef);
    EXPECT_EQ(hi, 0xcafef00d);
    EXPECT_EQ64(mem, 0xcafef00ddeadbeefull);
    test_end();
}

/* --- stack frames -------------------------------------------------------------------------- */

void enter_leave_0(u32 stack_top, u32 ebp_in, u32 *out);
void enter_leave_1(u32 stack_top, u32 ebp_in, u32 *out);
void enter_leave_3(u32 stack_top, u32 ebp_in, u32 *out);
void pusha_popa(u32 *out);
void pushaw_popaw(u32 *out);

static u32 frame_stack[64];

static void test_enter_leave(void)
{
    test_begin("enter-leave");
    u32 out[4];
    u32 top = (u32)&frame_stack[64];
    /* A fake caller frame chain: EBP points at frame_stack[40], whose display holds two
     * outer frame pointers at [39] and [38] (as an ENTER with level 2 would leave them). */
    u32 old_ebp = (u32)&frame_stack[40];
    frame_stack[39] = 0x0a0a0a0a;
    frame_stack[38] = 0x0b0b0b0b;

    enter_leave_0(top, old_ebp, out);
    EXPECT_EQ(out[1], top - 4);           /* frame pointer = ESP after pushing EBP */
    EXPECT_EQ(out[0], top - 4 - 12);
    EXPECT_EQ(frame_stack[63], old_ebp);
    EXPECT_EQ(out[2], top);
    EXPECT_EQ(out[3], old_ebp);

    enter_leave_1(top, old_ebp, out);
    /* Level 1: push EBP, then push the new frame pointer. */
    EXPECT_EQ(out[1], top - 4);
    EXPECT_EQ(frame_stack[62], top - 4);
    EXPECT_EQ(out[0], top - 8 - 12);
    EXPECT_EQ(out[3], old_ebp);

    enter_leave_3(top, old_ebp, out);
    /* Level 3: push EBP, copy 2 pointers from the old frame's display, push the frame pointer. */
    EXPECT_EQ(frame_stack[63], old_ebp);
    EXPECT_EQ(frame_stack[62], 0x0a0a0a0a);
    EXPECT_EQ(frame_stack[61], 0x0b0b0b0b);
    EXPECT_EQ(frame_stack[60], top - 4);
    EXPECT_EQ(out[1], top - 4);
    EXPECT_EQ(out[0], top - 16 - 12);
    EXPECT_EQ(out[2], top);
    EXPECT_EQ(out[3], old_ebp);
    test_end();
}

static void test_pusha(void)
{
    test_begin("pusha-popa");
    u32 out[17];
    pusha_popa(out);
    static const u32 pushed[] = { 0x11111111, 0x22222222, 0x33333333, 0x44444444, 0, 0x55555555,
                                  0x66666666, 0x77777777 };
    for (int i = 0; i < 8; i++) {
        if (i == 4) {
            EXPECT_EQ(out[4], out[16]);   /* the ESP pushed is the value before PUSHA */
            EXPECT_EQ(out[8 + 4], out[16]);   /* POPA skips ESP */
            continue;
        }
        EXPECT_EQ(out[i], pushed[i]);
        EXPECT_EQ(out[8 + i], pushed[i]);
    }
    u32 w[9];
    pushaw_popaw(w);
    EXPECT_EQ(w[0], 16);
    EXPECT_EQ(w[1], 0x0001);
    EXPECT_EQ(w[2], 0x0002);
    EXPECT_EQ(w[8], 0x0008);
    test_end();
}

/* --- data movement -------------------------------------------------------------------------- */

static void test_data_movement(void)
{
    test_begin("movzx-movsx-cbw-cdq");
    u32 v = 0x1234f680, r;
    __asm__ volatile("movzbl %b1, %0" : "=r"(r) : "q"(v));
    EXPECT_EQ(r, 0x80);
    __asm__ volatile("movsbl %b1, %0" : "=r"(r) : "q"(v));
    EXPECT_EQ(r, 0xffffff80);
    __asm__ volatile("movswl %w1, %0" : "=r"(r) : "r"(v));
    EXPECT_EQ(r, 0xfffff680);
    __asm__ volatile("movzwl %w1, %0" : "=r"(r) : "r"(v));
    EXPECT_EQ(r, 0xf680);
    u32 a = 0x12340080, d = 0x5555;
    __asm__ volatile("cbtw" : "+a"(a));
    EXPECT_EQ(a, 0x1234ff80);
    __asm__ volatile("cwtl" : "+a"(a));
    EXPECT_EQ(a, 0xffffff80);
    __asm__ volatile("cltd" : "+a"(a), "+d"(d));
    EXPECT_EQ(d, 0xffffffff);
    a = 0x8000; d = 0x12345678;
    __asm__ volatile("cwtd" : "+a"(a), "+d"(d));
    EXPECT_EQ(d, 0x1234ffff);
    test_end();

    test_begin("lahf-sahf-flag-ops");
    a = 0xd5 << 8;   /* SF ZF AF PF CF */
    u32 f;
    __asm__ volatile("sahf; pushfl; popl %0" : "=r"(f) : "a"(a) : "cc");
    EXPECT_EQ(f & 0xff, 0xd7);
    a = 0;
    __asm__ volatile("pushl $0x8d7; popfl; lahf" : "+a"(a) : : "cc");
    EXPECT_EQ((a >> 8) & 0xff, 0xd7);   /* bit 1 reads as 1 */
    __asm__ volatile("pushl $2; popfl; stc; cmc; cmc; pushfl; popl %0; clc" : "=r"(f) : : "cc");
    EXPECT_EQ(f & EFLAGS_CF, EFLAGS_CF);
    __asm__ volatile("std; pushfl; popl %0; cld" : "=r"(f));
    EXPECT_EQ(f & EFLAGS_DF, EFLAGS_DF);
    test_end();

    test_begin("xlat-loop-jecxz");
    static const u8 table[8] = { 9, 8, 7, 6, 5, 4, 3, 2 };
    a = 0xaabbcc03;
    __asm__ volatile("xlat" : "+a"(a) : "b"(table), "m"(table));
    EXPECT_EQ(a, 0xaabbcc06);
    u32 n = 0, c = 5;
    __asm__ volatile("1: incl %0; loop 1b" : "+r"(n), "+c"(c));
    EXPECT_EQ(n, 5);
    EXPECT_EQ(c, 0);
    /* LOOPE stops when ZF becomes 0. */
    n = 0; c = 10;
    __asm__ volatile("1: incl %0; cmpl $3, %0; loope 1b" : "+r"(n), "+c"(c) : : "cc");
    EXPECT_EQ(n, 1);
    n = 0; c = 10;
    __asm__ volatile("1: incl %0; cmpl $3, %0; loopne 1b" : "+r"(n), "+c"(c) : : "cc");
    EXPECT_EQ(n, 3);
    EXPECT_EQ(c, 7);
    c = 0;
    __asm__ volatile("movl $0, %0; jecxz 1f; movl $1, %0; 1:" : "=r"(n) : "c"(c));
    EXPECT_EQ(n, 0);
    test_end();
}

int main(u32 magic, const struct multiboot_info *info)
{
    (void)magic; (void)info;
    rt_init();
    test_movs();
    test_stos_lods();
    test_cmps_scas();
    test_addr16();
    test_prefix66();
    test_bt();
    test_bsf_bsr();
    test_conditions();
    test_xchg();
    test_cmpxchg();
    test_cmpxchg8b();
    test_enter_leave();
    test_pusha();
    test_data_movement();
    test_finish();
}
