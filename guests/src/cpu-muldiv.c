/* cpu-muldiv: MUL, IMUL (one, two and three operands), DIV and IDIV at 8/16/32 bits including
 * divide errors (#DE on a zero divisor and on quotient overflow), and the BCD adjustments DAA,
 * DAS, AAA, AAS, AAM, AAD. Results and defined flags are compared against C models
 * (SDM vol. 2 pseudo-code of each instruction). */
#include "rt.h"

#define ST EFLAGS_STATUS

static const u32 operands[] = {
    0, 1, 2, 3, 7, 10, 0x7f, 0x80, 0x81, 0xff, 0x100, 0x7fff, 0x8000, 0xffff, 0x10000,
    0x12345678, 0x7fffffff, 0x80000000, 0x80000001, 0xfffffffe, 0xffffffff, 0xdeadbeef,
};

/* --- multiply --------------------------------------------------------------------------- */

struct regs { u32 eax, edx, flags; };

static struct regs mul_run(int width, int is_signed, u32 a, u32 b)
{
    struct regs r = { a, 0x5a5a5a5a, EFLAGS_FIXED };
    switch (width * 2 + is_signed) {
    case 16: __asm__ volatile("mulb %b2; pushfl; popl %1" : "+a"(r.eax), "=r"(r.flags) : "q"(b) : "cc"); break;
    case 17: __asm__ volatile("imulb %b2; pushfl; popl %1" : "+a"(r.eax), "=r"(r.flags) : "q"(b) : "cc"); break;
    case 32: __asm__ volatile("mulw %w3; pushfl; popl %1" : "+a"(r.eax), "=r"(r.flags), "+d"(r.edx) : "r"(b) : "cc"); break;
    case 33: __asm__ volatile("imulw %w3; pushfl; popl %1" : "+a"(r.eax), "=r"(r.flags), "+d"(r.edx) : "r"(b) : "cc"); break;
    case 64: __asm__ volatile("mull %3; pushfl; popl %1" : "+a"(r.eax), "=r"(r.flags), "+d"(r.edx) : "r"(b) : "cc"); break;
    case 65: __asm__ volatile("imull %3; pushfl; popl %1" : "+a"(r.eax), "=r"(r.flags), "+d"(r.edx) : "r"(b) : "cc"); break;
    }
    return r;
}

static s32 sext(u32 v, int width)
{
    return width == 8 ? (s32)(s8)v : width == 16 ? (s32)(s16)v : (s32)v;
}

static void test_mul(int width, int is_signed)
{
    char name[24];
    u32 mask = width == 32 ? 0xffffffff : (1u << width) - 1;
    snprintf(name, sizeof(name), "%s%d", is_signed ? "imul" : "mul", width);
    test_begin(name);
    for (u32 i = 0; i < ARRAY_SIZE(operands); i++) {
        for (u32 j = 0; j < ARRAY_SIZE(operands); j++) {
            u32 a = operands[i] & mask, b = operands[j] & mask;
            struct regs r = mul_run(width, is_signed, a, b);
            u64 product;
            int overflow;
            if (is_signed) {
                s64 p = (s64)sext(a, width) * sext(b, width);
                product = (u64)p;
                overflow = p != (s64)sext((u32)p & mask, width);
            } else {
                product = (u64)a * b;
                overflow = (product >> width) != 0;
            }
            u64 got;
            if (width == 8) got = r.eax & 0xffff;
            else if (width == 16) got = (r.eax & 0xffff) | ((r.edx & 0xffff) << 16);
            else got = ((u64)r.edx << 32) | r.eax;
            u64 want = product & (width == 32 ? ~0ull : (1ull << (2 * width)) - 1);
            u32 wantf = overflow ? EFLAGS_CF | EFLAGS_OF : 0;
            if (got != want || (r.flags & (EFLAGS_CF | EFLAGS_OF)) != wantf) {
                test_failf("0x%x * 0x%x = 0x%llx CF/OF 0x%x, want 0x%llx CF/OF 0x%x", a, b, got,
                           r.flags & (EFLAGS_CF | EFLAGS_OF), want, wantf);
                goto out;
            }
            /* The upper halves of EAX/EDX that a narrower MUL does not write stay intact. */
            if ((width == 8 && (r.edx != 0x5a5a5a5a || (r.eax >> 16) != (a >> 16))) ||
                (width == 16 && ((r.edx >> 16) != 0x5a5a || (r.eax >> 16) != (a >> 16)))) {
                test_failf("0x%x * 0x%x clobbered upper bits: eax 0x%x edx 0x%x", a, b, r.eax, r.edx);
                goto out;
            }
        }
    }
out:
    test_end();
}

/* IMUL r, r/m and IMUL r, r/m, imm: the product truncated to the destination width. */
static void test_imul_forms(void)
{
    test_begin("imul-2op-3op");
    for (u32 i = 0; i < ARRAY_SIZE(operands); i++) {
        for (u32 j = 0; j < ARRAY_SIZE(operands); j++) {
            u32 a = operands[i], b = operands[j], f, f16, f3;
            u32 r32 = a, r16 = a, r3;
            __asm__ volatile("imull %2, %0; pushfl; popl %1" : "+r"(r32), "=r"(f) : "r"(b) : "cc");
            __asm__ volatile("imulw %w2, %w0; pushfl; popl %1" : "+r"(r16), "=r"(f16) : "r"(b) : "cc");
            __asm__ volatile("imull $-3, %2, %0; pushfl; popl %1" : "=r"(r3), "=r"(f3) : "r"(a) : "cc");
            s64 p32 = (s64)(s32)a * (s32)b;
            s32 p16 = (s32)(s16)a * (s16)b;
            s64 p3 = (s64)(s32)a * -3;
            u32 of32 = p32 != (s32)p32 ? EFLAGS_CF | EFLAGS_OF : 0;
            u32 of16 = p16 != (s16)p16 ? EFLAGS_CF | EFLAGS_OF : 0;
            u32 of3 = p3 != (s32)p3 ? EFLAGS_CF | EFLAGS_OF : 0;
            const u32 m = EFLAGS_CF | EFLAGS_OF;
            if (r32 != (u32)p32 || (f & m) != of32 || (r16 & 0xffff) != ((u32)p16 & 0xffff) ||
                (r16 >> 16) != (a >> 16) || (f16 & m) != of16 || r3 != (u32)p3 || (f3 & m) != of3) {
                test_failf("a=0x%x b=0x%x: imul32 0x%x/%x imul16 0x%x/%x imul3 0x%x/%x", a, b, r32, f & m,
                           r16, f16 & m, r3, f3 & m);
                goto out;
            }
        }
    }
out:
    test_end();
}

/* --- divide ----------------------------------------------------------------------------- */

static volatile u32 div_eax, div_edx, div_src;
static volatile int div_width, div_signed;

static void div_body(void)
{
    u32 a = div_eax, d = div_edx, s = div_src;
    switch (div_width * 2 + div_signed) {
    case 16: __asm__ volatile("divb %b2" : "+a"(a), "+d"(d) : "q"(s) : "cc"); break;
    case 17: __asm__ volatile("idivb %b2" : "+a"(a), "+d"(d) : "q"(s) : "cc"); break;
    case 32: __asm__ volatile("divw %w2" : "+a"(a), "+d"(d) : "r"(s) : "cc"); break;
    case 33: __asm__ volatile("idivw %w2" : "+a"(a), "+d"(d) : "r"(s) : "cc"); break;
    case 64: __asm__ volatile("divl %2" : "+a"(a), "+d"(d) : "r"(s) : "cc"); break;
    case 65: __asm__ volatile("idivl %2" : "+a"(a), "+d"(d) : "r"(s) : "cc"); break;
    }
    div_eax = a;
    div_edx = d;
}

/* Dividends are sign- or zero-extended operands (so C can compute the quotient with 32-bit
 * division), plus explicit wide dividends checked by q*d+r. */
static void test_div(int width, int is_signed)
{
    char name[24];
    u32 mask = width == 32 ? 0xffffffff : (1u << width) - 1;
    snprintf(name, sizeof(name), "%s%d", is_signed ? "idiv" : "div", width);
    test_begin(name);
    div_width = width;
    div_signed = is_signed;
    for (u32 i = 0; i < ARRAY_SIZE(operands); i++) {
        for (u32 j = 0; j < ARRAY_SIZE(operands); j++) {
            /* The dividend is twice the width: take a width-sized value and extend it. */
            u32 x = operands[i] & mask, d = operands[j] & mask;
            s32 sx = sext(x, width), sd = sext(d, width);
            int want_de;
            u32 q = 0, rem = 0;
            if (is_signed) {
                want_de = sd == 0 || (width == 32 && sx == (s32)0x80000000 && sd == -1);
                if (!want_de) {
                    s32 sq = sx / sd;
                    rem = (u32)(sx % sd) & mask;
                    want_de = sq > sext(mask >> 1, width) || sq < -sext(mask >> 1, width) - 1;
                    q = (u32)sq & mask;
                }
            } else {
                want_de = d == 0;
                if (!want_de) { q = x / d; rem = x % d; }
            }
            u32 hi = is_signed && sx < 0 ? mask : 0;
            if (width == 8) { div_eax = (hi << 8) | x; div_edx = 0x77777777; }
            else { div_eax = x; div_edx = hi; }
            div_src = d;
            int v = catch_exception(div_body);
            if (want_de) {
                if (v != VEC_DE) { test_failf("0x%x / 0x%x: vector %d, want #DE", x, d, v); goto out; }
                continue;
            }
            u32 gq, gr;
            if (width == 8) { gq = div_eax & 0xff; gr = (div_eax >> 8) & 0xff; }
            else { gq = div_eax & mask; gr = div_edx & mask; }
            if (v != NO_EXCEPTION || gq != q || gr != rem) {
                test_failf("0x%x / 0x%x: vector %d q 0x%x r 0x%x, want q 0x%x r 0x%x", x, d, v, gq, gr, q, rem);
                goto out;
            }
        }
    }
out:
    test_end();
}

/* Wide dividends: EDX:EAX not a simple extension. */
static void test_div_wide(void)
{
    static const u32 cases[][3] = {  /* edx, eax, divisor */
        { 0x1, 0x0, 0x2 }, { 0x12345678, 0x9abcdef0, 0x87654321 }, { 0xfffffffe, 0xffffffff, 0xffffffff },
        { 0x0, 0xffffffff, 0x10 }, { 0x7fffffff, 0x0, 0x80000000 }, { 0x1, 0x0, 0x1 }, { 0xffffffff, 0x0, 0xffffffff },
    };
    test_begin("div32-wide");
    div_width = 32;
    div_signed = 0;
    for (u32 i = 0; i < ARRAY_SIZE(cases); i++) {
        u32 hi = cases[i][0], lo = cases[i][1], d = cases[i][2];
        div_edx = hi; div_eax = lo; div_src = d;
        int v = catch_exception(div_body);
        int want_de = hi >= d;   /* the quotient does not fit in 32 bits */
        if (want_de) {
            if (v != VEC_DE) { test_failf("0x%x:%x / 0x%x: vector %d, want #DE", hi, lo, d, v); break; }
            continue;
        }
        u64 back = (u64)div_eax * d + div_edx;
        if (v != NO_EXCEPTION || back != (((u64)hi << 32) | lo) || div_edx >= d) {
            test_failf("0x%x:%x / 0x%x: vector %d q 0x%x r 0x%x", hi, lo, d, v, div_eax, div_edx);
            break;
        }
    }
    /* Signed: -2^32 / 2 = -2^31 fits; 2^32 / 2 = 2^31 does not. */
    div_signed = 1;
    div_edx = 0xffffffff; div_eax = 0; div_src = 2;
    int v = catch_exception(div_body);
    EXPECT_EQ(v, NO_EXCEPTION);
    EXPECT_EQ(div_eax, 0x80000000);
    EXPECT_EQ(div_edx, 0);
    div_edx = 1; div_eax = 0; div_src = 2;
    EXPECT_EQ(catch_exception(div_body), VEC_DE);
    /* The remainder takes the dividend's sign. */
    div_edx = 0xffffffff; div_eax = (u32)-7; div_src = 2;
    EXPECT_EQ(catch_exception(div_body), NO_EXCEPTION);
    EXPECT_EQ(div_eax, (u32)-3);
    EXPECT_EQ(div_edx, (u32)-1);
    test_end();
}

/* --- BCD adjust -------------------------------------------------------------------------- */

enum bcd { BCD_DAA, BCD_DAS, BCD_AAA, BCD_AAS };

static u32 bcd_run(enum bcd op, u32 ax, u32 *flags)
{
    u32 f = *flags;
    switch (op) {
    case BCD_DAA: __asm__ volatile("pushl %1; popfl; daa; pushfl; popl %1" : "+a"(ax), "+r"(f) : : "cc"); break;
    case BCD_DAS: __asm__ volatile("pushl %1; popfl; das; pushfl; popl %1" : "+a"(ax), "+r"(f) : : "cc"); break;
    case BCD_AAA: __asm__ volatile("pushl %1; popfl; aaa; pushfl; popl %1" : "+a"(ax), "+r"(f) : : "cc"); break;
    case BCD_AAS: __asm__ volatile("pushl %1; popfl; aas; pushfl; popl %1" : "+a"(ax), "+r"(f) : : "cc"); break;
    }
    *flags = f;
    return ax;
}

static u32 parity_zero_sign8(u32 v)
{
    u32 f = 0, p = v & 0xff;
    p ^= p >> 4; p ^= p >> 2; p ^= p >> 1;
    if (!(p & 1)) f |= EFLAGS_PF;
    if (!(v & 0xff)) f |= EFLAGS_ZF;
    if (v & 0x80) f |= EFLAGS_SF;
    return f;
}

/* Returns the expected AX; *flags gets the expected flags, *defined the defined ones. */
static u32 bcd_model(enum bcd op, u32 ax, u32 fin, u32 *flags, u32 *defined)
{
    u32 al = ax & 0xff, ah = (ax >> 8) & 0xff;
    u32 af = fin & EFLAGS_AF, cf = fin & EFLAGS_CF;
    u32 f = 0;
    switch (op) {
    case BCD_DAA: {
        u32 old_al = al, new_cf = 0;
        if ((al & 0xf) > 9 || af) { new_cf = cf || al + 6 > 0xff; al = (al + 6) & 0xff; f |= EFLAGS_AF; }
        if (old_al > 0x99 || cf) { al = (al + 0x60) & 0xff; new_cf = 1; } else new_cf = 0;
        f |= (new_cf ? EFLAGS_CF : 0) | parity_zero_sign8(al);
        *defined = ST & ~EFLAGS_OF;
        break;
    }
    case BCD_DAS: {
        u32 old_al = al, new_cf = 0;
        if ((al & 0xf) > 9 || af) { new_cf = cf || al < 6; al = (al - 6) & 0xff; f |= EFLAGS_AF; }
        if (old_al > 0x99 || cf) { al = (al - 0x60) & 0xff; new_cf = 1; }
        f |= (new_cf ? EFLAGS_CF : 0) | parity_zero_sign8(al);
        *defined = ST & ~EFLAGS_OF;
        break;
    }
    case BCD_AAA:
        if ((al & 0xf) > 9 || af) { ax = (ax + 0x106) & 0xffff; f |= EFLAGS_AF | EFLAGS_CF; }
        al = ax & 0xf; ah = (ax >> 8) & 0xff;
        *defined = EFLAGS_AF | EFLAGS_CF;
        break;
    case BCD_AAS:
        if ((al & 0xf) > 9 || af) { ax = (ax - 6) & 0xffff; ax = (ax - 0x100) & 0xffff; f |= EFLAGS_AF | EFLAGS_CF; }
        al = ax & 0xf; ah = (ax >> 8) & 0xff;
        *defined = EFLAGS_AF | EFLAGS_CF;
        break;
    }
    *flags = f;
    return (ah << 8) | al;
}

static void test_bcd(enum bcd op, const char *name)
{
    static const u32 fins[] = { EFLAGS_FIXED, EFLAGS_FIXED | EFLAGS_AF, EFLAGS_FIXED | EFLAGS_CF,
                                EFLAGS_FIXED | EFLAGS_AF | EFLAGS_CF };
    test_begin(name);
    for (u32 al = 0; al < 256; al++) {
        for (u32 k = 0; k < ARRAY_SIZE(fins); k++) {
            u32 ax = 0xab0000 | (0x12 + al) << 8 | al;   /* vary AH as well */
            ax &= 0xffffff;
            u32 f = fins[k], wantf, defined;
            u32 got = bcd_run(op, ax, &f);
            u32 want = bcd_model(op, ax, fins[k], &wantf, &defined);
            if ((got & 0xffff) != want || (got >> 16) != (ax >> 16) || ((f ^ wantf) & defined)) {
                test_failf("ax=0x%x flags_in=0x%x: ax 0x%x flags 0x%x, want 0x%x flags 0x%x (mask 0x%x)", ax & 0xffff,
                           fins[k], got, f & defined, want, wantf & defined, defined);
                goto out;
            }
        }
    }
out:
    test_end();
}

static volatile u32 aam_ax;
static void aam0_body(void) { u32 ax = aam_ax; __asm__ volatile("aam $0" : "+a"(ax) : : "cc"); aam_ax = ax; }

static void test_aam_aad(void)
{
    test_begin("aam-aad");
    for (u32 al = 0; al < 256; al++) {
        u32 ax = 0x3300 | al, f;
        u32 a10 = ax, a16 = ax, a7 = ax;
        __asm__ volatile("aam; pushfl; popl %1" : "+a"(a10), "=r"(f) : : "cc");
        if ((a10 & 0xffff) != (((al / 10) << 8) | (al % 10)) ||
            (f & (EFLAGS_SF | EFLAGS_ZF | EFLAGS_PF)) != parity_zero_sign8(al % 10)) {
            test_failf("aam 10 of 0x%x = 0x%x flags 0x%x", al, a10, f);
            goto out;
        }
        __asm__ volatile("aam $16" : "+a"(a16) : : "cc");
        __asm__ volatile("aam $7" : "+a"(a7) : : "cc");
        EXPECT_EQ(a16 & 0xffff, ((al >> 4) << 8) | (al & 0xf));
        EXPECT_EQ(a7 & 0xffff, ((al / 7) << 8) | (al % 7));
        for (u32 ah = 0; ah < 256; ah += 17) {
            u32 x = (ah << 8) | al, y = x;
            __asm__ volatile("aad; pushfl; popl %1" : "+a"(x), "=r"(f) : : "cc");
            __asm__ volatile("aad $16" : "+a"(y) : : "cc");
            u32 want = (al + ah * 10) & 0xff;
            if ((x & 0xffff) != want || (f & (EFLAGS_SF | EFLAGS_ZF | EFLAGS_PF)) != parity_zero_sign8(want) ||
                (y & 0xffff) != ((al + ah * 16) & 0xff)) {
                test_failf("aad of 0x%x = 0x%x flags 0x%x", (ah << 8) | al, x, f);
                goto out;
            }
        }
    }
    aam_ax = 0x1234;
    EXPECT_EQ(catch_exception(aam0_body), VEC_DE);
out:
    test_end();
}

int main(u32 magic, const struct multiboot_info *info)
{
    (void)magic; (void)info;
    rt_init();
    for (int w = 8; w <= 32; w *= 2) {
        test_mul(w, 0);
        test_mul(w, 1);
    }
    test_imul_forms();
    for (int w = 8; w <= 32; w *= 2) {
        test_div(w, 0);
        test_div(w, 1);
    }
    test_div_wide();
    test_bcd(BCD_DAA, "daa");
    test_bcd(BCD_DAS, "das");
    test_bcd(BCD_AAA, "aaa");
    test_bcd(BCD_AAS, "aas");
    test_aam_aad();
    test_finish();
}
