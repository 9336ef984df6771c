/* cpu-alu: two- and one-operand ALU instructions (ADD ADC SUB SBB CMP AND OR XOR TEST INC DEC
 * NEG NOT) and shifts/rotates (SHL SHR SAR ROL ROR RCL RCR SHLD SHRD) at 8, 16 and 32 bits.
 * Each case runs a table of operands with two incoming flag states and compares the result and
 * the architecturally defined EFLAGS bits (SDM vol. 2 per instruction; vol. 1 appendix A)
 * against a C model of the instruction. */
#include "rt.h"

#define ST EFLAGS_STATUS
#define FLAGS_IN_CLEAR EFLAGS_FIXED
#define FLAGS_IN_SET (EFLAGS_FIXED | EFLAGS_STATUS)

static const u32 operands[] = {
    0, 1, 2, 0x0f, 0x10, 0x5a, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff, 0x12345678,
    0x7fffffff, 0x80000000, 0x80000001, 0xfffffffe, 0xffffffff, 0xdeadbeef,
};
static const u32 flags_in[] = { FLAGS_IN_CLEAR, FLAGS_IN_SET };
static const u32 counts[] = { 0, 1, 2, 3, 4, 7, 8, 9, 15, 16, 17, 24, 31, 32, 33, 63 };

/* --- the instructions, one function per operation and width ---------------------------- */

typedef u32 (*op2_fn)(u32 a, u32 b, u32 *flags);

#define OP2(fn, insn, mod, cons) \
    static u32 fn(u32 a, u32 b, u32 *flags) \
    { \
        u32 f = *flags; \
        __asm__ volatile("pushl %[f]\n\tpopfl\n\t" insn " %" mod "[b], %" mod "[a]\n\tpushfl\n\tpopl %[f]" \
                         : [a] "+" cons(a), [f] "+r"(f) : [b] cons(b) : "cc"); \
        *flags = f; \
        return a; \
    }
#define OP2_ALL(name) \
    OP2(name##8, #name "b", "b", "q") OP2(name##16, #name "w", "w", "r") OP2(name##32, #name "l", "", "r")
OP2_ALL(add) OP2_ALL(adc) OP2_ALL(sub) OP2_ALL(sbb) OP2_ALL(cmp) OP2_ALL(and) OP2_ALL(or)
OP2_ALL(xor) OP2_ALL(test)

#define OP1(fn, insn, mod, cons) \
    static u32 fn(u32 a, u32 b, u32 *flags) \
    { \
        u32 f = *flags; \
        (void)b; \
        __asm__ volatile("pushl %[f]\n\tpopfl\n\t" insn " %" mod "[a]\n\tpushfl\n\tpopl %[f]" \
                         : [a] "+" cons(a), [f] "+r"(f) : : "cc"); \
        *flags = f; \
        return a; \
    }
#define OP1_ALL(name) \
    OP1(name##8, #name "b", "b", "q") OP1(name##16, #name "w", "w", "r") OP1(name##32, #name "l", "", "r")
OP1_ALL(inc) OP1_ALL(dec) OP1_ALL(neg) OP1_ALL(not)

/* Shifts take the count in CL. */
#define SH(fn, insn, mod, cons) \
    static u32 fn(u32 a, u32 c, u32 *flags) \
    { \
        u32 f = *flags; \
        __asm__ volatile("pushl %[f]\n\tpopfl\n\t" insn " %%cl, %" mod "[a]\n\tpushfl\n\tpopl %[f]" \
                         : [a] "+" cons(a), [f] "+r"(f) : "c"(c) : "cc"); \
        *flags = f; \
        return a; \
    }
#define SH_ALL(name) \
    SH(name##8, #name "b", "b", "q") SH(name##16, #name "w", "w", "r") SH(name##32, #name "l", "", "r")
SH_ALL(shl) SH_ALL(shr) SH_ALL(sar) SH_ALL(rol) SH_ALL(ror) SH_ALL(rcl) SH_ALL(rcr)

/* SHLD/SHRD: dest a, source b (fixed at one value per table row), count in CL. */
static u32 shld_src, shrd_src;
#define SHD(fn, insn, mod, src) \
    static u32 fn(u32 a, u32 c, u32 *flags) \
    { \
        u32 f = *flags; \
        __asm__ volatile("pushl %[f]\n\tpopfl\n\t" insn " %%cl, %" mod "[b], %" mod "[a]\n\tpushfl\n\tpopl %[f]" \
                         : [a] "+r"(a), [f] "+r"(f) : "c"(c), [b] "r"(src) : "cc"); \
        *flags = f; \
        return a; \
    }
SHD(shld16, "shldw", "w", shld_src) SHD(shld32, "shldl", "", shld_src)
SHD(shrd16, "shrdw", "w", shrd_src) SHD(shrd32, "shrdl", "", shrd_src)

/* --- the reference model --------------------------------------------------------------- */

struct width { u32 bits, mask, sign; };
static const struct width widths[] = { { 8, 0xff, 0x80 }, { 16, 0xffff, 0x8000 }, { 32, 0xffffffff, 0x80000000 } };

struct model { u32 result, flags, defined; };

static u32 szp(const struct width *w, u32 r)
{
    u32 f = 0;
    u8 low = (u8)r;
    low ^= low >> 4;
    low ^= low >> 2;
    low ^= low >> 1;
    if (!(low & 1)) f |= EFLAGS_PF;
    if (!(r & w->mask)) f |= EFLAGS_ZF;
    if (r & w->sign) f |= EFLAGS_SF;
    return f;
}

static struct model add_model(const struct width *w, u32 a, u32 b, u32 cin)
{
    u64 full = (u64)(a & w->mask) + (b & w->mask) + cin;
    u32 r = (u32)full & w->mask;
    u32 f = szp(w, r);
    if (full > w->mask) f |= EFLAGS_CF;
    if ((a ^ r) & (b ^ r) & w->sign) f |= EFLAGS_OF;
    if ((a ^ b ^ r) & 0x10) f |= EFLAGS_AF;
    return (struct model){ r, f, ST };
}

static struct model sub_model(const struct width *w, u32 a, u32 b, u32 cin)
{
    a &= w->mask; b &= w->mask;
    u32 r = (a - b - cin) & w->mask;
    u32 f = szp(w, r);
    if ((u64)b + cin > a) f |= EFLAGS_CF;
    if ((a ^ b) & (a ^ r) & w->sign) f |= EFLAGS_OF;
    if ((a ^ b ^ r) & 0x10) f |= EFLAGS_AF;
    return (struct model){ r, f, ST };
}

static struct model logic_model(const struct width *w, u32 r)
{
    r &= w->mask;
    return (struct model){ r, szp(w, r), ST & ~EFLAGS_AF };
}

enum op {
    OP_ADD, OP_ADC, OP_SUB, OP_SBB, OP_CMP, OP_AND, OP_OR, OP_XOR, OP_TEST, OP_INC, OP_DEC, OP_NEG,
    OP_NOT, OP_SHL, OP_SHR, OP_SAR, OP_ROL, OP_ROR, OP_RCL, OP_RCR, OP_SHLD, OP_SHRD,
};

/* Bit i of v. */
static u32 bit(u32 v, u32 i) { return (v >> i) & 1; }

static struct model shift_model(enum op op, const struct width *w, u32 a, u32 count, u32 fin)
{
    u32 n = count & 0x1f;
    u32 cf = fin & EFLAGS_CF;
    a &= w->mask;
    if (n == 0)
        return (struct model){ a, fin & ST, ST };
    u32 r = a, f, defined = ST & ~EFLAGS_AF;
    switch (op) {
    case OP_SHL:
        r = n >= w->bits ? 0 : (a << n) & w->mask;
        cf = n > w->bits ? 0 : bit(a, w->bits - n);
        f = szp(w, r) | (cf ? EFLAGS_CF : 0);
        if (n == 1 && (bit(r, w->bits - 1) ^ cf)) f |= EFLAGS_OF;
        if (n != 1) defined &= ~EFLAGS_OF;
        if (n >= w->bits) defined &= ~EFLAGS_CF;
        break;
    case OP_SHR:
        r = n >= w->bits ? 0 : a >> n;
        cf = n > w->bits ? 0 : bit(a, n - 1);
        f = szp(w, r) | (cf ? EFLAGS_CF : 0);
        if (n == 1 && bit(a, w->bits - 1)) f |= EFLAGS_OF;
        if (n != 1) defined &= ~EFLAGS_OF;
        if (n >= w->bits) defined &= ~EFLAGS_CF;
        break;
    case OP_SAR: {
        u32 sign = bit(a, w->bits - 1);
        u32 k = n >= w->bits ? w->bits - 1 : n;
        r = a >> k;
        if (sign) r |= (w->mask << (w->bits - k)) & w->mask;
        cf = n >= w->bits ? sign : bit(a, n - 1);
        if (n >= w->bits) r = sign ? w->mask : 0;
        f = szp(w, r) | (cf ? EFLAGS_CF : 0);   /* OF = 0 for a count of 1 */
        if (n != 1) defined &= ~EFLAGS_OF;
        break;
    }
    case OP_ROL:
    case OP_ROR: {
        u32 k = n % w->bits;
        if (k) r = op == OP_ROL ? ((a << k) | (a >> (w->bits - k))) & w->mask
                                : ((a >> k) | (a << (w->bits - k))) & w->mask;
        cf = op == OP_ROL ? bit(r, 0) : bit(r, w->bits - 1);
        f = (fin & ST & ~(EFLAGS_CF | EFLAGS_OF)) | (cf ? EFLAGS_CF : 0);
        if (n == 1) {
            u32 of = op == OP_ROL ? bit(r, w->bits - 1) ^ cf : bit(r, w->bits - 1) ^ bit(r, w->bits - 2);
            if (of) f |= EFLAGS_OF;
        }
        defined = n == 1 ? ST : ST & ~EFLAGS_OF;
        break;
    }
    case OP_RCL:
    case OP_RCR: {
        u32 k = w->bits == 32 ? n : n % (w->bits + 1);
        u32 of_pre = bit(a, w->bits - 1) ^ (cf ? 1 : 0);
        for (u32 i = 0; i < k; i++) {
            if (op == OP_RCL) {
                u32 out = bit(r, w->bits - 1);
                r = ((r << 1) | (cf ? 1 : 0)) & w->mask;
                cf = out;
            } else {
                u32 out = r & 1;
                r = (r >> 1) | (cf ? w->sign : 0);
                cf = out;
            }
        }
        f = (fin & ST & ~(EFLAGS_CF | EFLAGS_OF)) | (cf ? EFLAGS_CF : 0);
        if (n == 1) {
            u32 of = op == OP_RCL ? bit(r, w->bits - 1) ^ (cf ? 1 : 0) : of_pre;
            if (of) f |= EFLAGS_OF;
        }
        defined = n == 1 ? ST : ST & ~EFLAGS_OF;
        break;
    }
    case OP_SHLD:
    case OP_SHRD: {
        u32 src = (op == OP_SHLD ? shld_src : shrd_src) & w->mask;
        if (n > w->bits)   /* result and flags undefined */
            return (struct model){ 0, 0, 0 };
        u64 cat, res;
        if (op == OP_SHLD) {
            cat = ((u64)a << w->bits) | src;           /* a:src, shift left */
            res = cat << n;
            r = (u32)(res >> w->bits) & w->mask;
            cf = (u32)(cat >> (2 * w->bits - n)) & 1;
        } else {
            cat = ((u64)src << w->bits) | a;           /* src:a, shift right */
            r = (u32)(cat >> n) & w->mask;
            cf = (u32)(cat >> (n - 1)) & 1;
        }
        f = szp(w, r) | (cf ? EFLAGS_CF : 0);
        if (n == 1 && ((a ^ r) & w->sign)) f |= EFLAGS_OF;
        if (n != 1) defined &= ~EFLAGS_OF;
        break;
    }
    default:
        test_abort("bad shift op %u", op);
    }
    return (struct model){ r, f, defined };
}

static struct model model(enum op op, const struct width *w, u32 a, u32 b, u32 fin)
{
    u32 cin = fin & EFLAGS_CF ? 1 : 0;
    struct model m;
    switch (op) {
    case OP_ADD: return add_model(w, a, b, 0);
    case OP_ADC: return add_model(w, a, b, cin);
    case OP_SUB: return sub_model(w, a, b, 0);
    case OP_SBB: return sub_model(w, a, b, cin);
    case OP_CMP: m = sub_model(w, a, b, 0); m.result = a & w->mask; return m;
    case OP_AND: return logic_model(w, a & b);
    case OP_OR: return logic_model(w, a | b);
    case OP_XOR: return logic_model(w, a ^ b);
    case OP_TEST: m = logic_model(w, a & b); m.result = a & w->mask; return m;
    case OP_INC: m = add_model(w, a, 1, 0); m.flags = (m.flags & ~EFLAGS_CF) | (fin & EFLAGS_CF); return m;
    case OP_DEC: m = sub_model(w, a, 1, 0); m.flags = (m.flags & ~EFLAGS_CF) | (fin & EFLAGS_CF); return m;
    case OP_NEG: return sub_model(w, 0, a, 0);
    case OP_NOT: return (struct model){ ~a & w->mask, fin & ST, ST };
    default: return shift_model(op, w, a, b, fin);
    }
}

/* --- the driver ------------------------------------------------------------------------ */

struct op_case {
    const char *name;
    enum op op;
    op2_fn fn[3];         /* 8, 16, 32 bits; NULL when the width does not exist */
    int second_is_count;
};

static const struct op_case cases[] = {
    { "add", OP_ADD, { add8, add16, add32 }, 0 },
    { "adc", OP_ADC, { adc8, adc16, adc32 }, 0 },
    { "sub", OP_SUB, { sub8, sub16, sub32 }, 0 },
    { "sbb", OP_SBB, { sbb8, sbb16, sbb32 }, 0 },
    { "cmp", OP_CMP, { cmp8, cmp16, cmp32 }, 0 },
    { "and", OP_AND, { and8, and16, and32 }, 0 },
    { "or", OP_OR, { or8, or16, or32 }, 0 },
    { "xor", OP_XOR, { xor8, xor16, xor32 }, 0 },
    { "test", OP_TEST, { test8, test16, test32 }, 0 },
    { "inc", OP_INC, { inc8, inc16, inc32 }, 0 },
    { "dec", OP_DEC, { dec8, dec16, dec32 }, 0 },
    { "neg", OP_NEG, { neg8, neg16, neg32 }, 0 },
    { "not", OP_NOT, { not8, not16, not32 }, 0 },
    { "shl", OP_SHL, { shl8, shl16, shl32 }, 1 },
    { "shr", OP_SHR, { shr8, shr16, shr32 }, 1 },
    { "sar", OP_SAR, { sar8, sar16, sar32 }, 1 },
    { "rol", OP_ROL, { rol8, rol16, rol32 }, 1 },
    { "ror", OP_ROR, { ror8, ror16, ror32 }, 1 },
    { "rcl", OP_RCL, { rcl8, rcl16, rcl32 }, 1 },
    { "rcr", OP_RCR, { rcr8, rcr16, rcr32 }, 1 },
    { "shld", OP_SHLD, { NULL, shld16, shld32 }, 1 },
    { "shrd", OP_SHRD, { NULL, shrd16, shrd32 }, 1 },
};

static void run_case(const struct op_case *c, int wi)
{
    const struct width *w = &widths[wi];
    char name[32];
    snprintf(name, sizeof(name), "%s%u", c->name, w->bits);
    test_begin(name);
    u32 nb = c->second_is_count ? ARRAY_SIZE(counts) : ARRAY_SIZE(operands);
    u32 checked = 0;
    for (u32 i = 0; i < ARRAY_SIZE(operands); i++) {
        /* SHLD/SHRD: vary the source operand with the row. */
        shld_src = operands[(i + 5) % ARRAY_SIZE(operands)];
        shrd_src = operands[(i + 11) % ARRAY_SIZE(operands)];
        for (u32 j = 0; j < nb; j++) {
            for (u32 k = 0; k < ARRAY_SIZE(flags_in); k++) {
                u32 a = operands[i] & w->mask;
                u32 b = c->second_is_count ? counts[j] : operands[j] & w->mask;
                u32 fin = flags_in[k];
                u32 fout = fin;
                u32 r = c->fn[wi](a, b, &fout) & w->mask;
                struct model m = model(c->op, w, a, b, fin);
                if (!m.defined)
                    continue;
                checked++;
                if (r != m.result || ((fout ^ m.flags) & m.defined)) {
                    test_failf("a=0x%x b=0x%x flags_in=0x%x: result 0x%x flags 0x%03x, want 0x%x flags 0x%03x (mask 0x%03x)",
                               a, b, fin, r, fout & m.defined, m.result, m.flags & m.defined, m.defined);
                    goto done;
                }
            }
        }
    }
    EXPECT(checked > 0);
done:
    test_end();
}

int main(u32 magic, const struct multiboot_info *info)
{
    (void)magic; (void)info;
    rt_init();
    for (u32 c = 0; c < ARRAY_SIZE(cases); c++)
        for (int wi = 0; wi < 3; wi++)
            if (cases[c].fn[wi])
                run_case(&cases[c], wi);
    test_finish();
}
