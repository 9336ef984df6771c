/* Inline wrappers for system instructions (IA-32 SDM vol. 2 and vol. 3 chapter 2). */
#ifndef RT_CPU_H
#define RT_CPU_H
#include "types.h"

/* EFLAGS bits (SDM vol. 1 section 3.4.3). */
#define EFLAGS_CF   (1u << 0)
#define EFLAGS_FIXED (1u << 1)  /* bit 1 always reads 1 */
#define EFLAGS_PF   (1u << 2)
#define EFLAGS_AF   (1u << 4)
#define EFLAGS_ZF   (1u << 6)
#define EFLAGS_SF   (1u << 7)
#define EFLAGS_TF   (1u << 8)
#define EFLAGS_IF   (1u << 9)
#define EFLAGS_DF   (1u << 10)
#define EFLAGS_OF   (1u << 11)
#define EFLAGS_IOPL_SHIFT 12
#define EFLAGS_IOPL (3u << 12)
#define EFLAGS_NT   (1u << 14)
#define EFLAGS_RF   (1u << 16)
#define EFLAGS_VM   (1u << 17)
#define EFLAGS_AC   (1u << 18)
#define EFLAGS_ID   (1u << 21)
#define EFLAGS_STATUS (EFLAGS_CF | EFLAGS_PF | EFLAGS_AF | EFLAGS_ZF | EFLAGS_SF | EFLAGS_OF)

/* Control register bits (SDM vol. 3 section 2.5). */
#define CR0_PE (1u << 0)
#define CR0_MP (1u << 1)
#define CR0_EM (1u << 2)
#define CR0_TS (1u << 3)
#define CR0_ET (1u << 4)
#define CR0_NE (1u << 5)
#define CR0_WP (1u << 16)
#define CR0_AM (1u << 18)
#define CR0_NW (1u << 29)
#define CR0_CD (1u << 30)
#define CR0_PG (1u << 31)
#define CR4_VME (1u << 0)
#define CR4_PVI (1u << 1)
#define CR4_TSD (1u << 2)
#define CR4_DE  (1u << 3)
#define CR4_PSE (1u << 4)
#define CR4_PAE (1u << 5)
#define CR4_PGE (1u << 7)

/* Exception vectors (SDM vol. 3 table 6-1). */
enum {
    VEC_DE = 0, VEC_DB = 1, VEC_NMI = 2, VEC_BP = 3, VEC_OF = 4, VEC_BR = 5, VEC_UD = 6,
    VEC_NM = 7, VEC_DF = 8, VEC_TS = 10, VEC_NP = 11, VEC_SS = 12, VEC_GP = 13, VEC_PF = 14,
    VEC_MF = 16, VEC_AC = 17, VEC_MC = 18, VEC_XM = 19,
};

/* Architectural MSRs used by the tests (SDM vol. 4 table 2-2). */
#define MSR_IA32_TSC 0x10
#define MSR_IA32_SYSENTER_CS 0x174
#define MSR_IA32_SYSENTER_ESP 0x175
#define MSR_IA32_SYSENTER_EIP 0x176

#define DEFINE_CR(n) \
    static inline u32 read_cr##n(void) { u32 v; __asm__ volatile("mov %%cr" #n ", %0" : "=r"(v)); return v; } \
    static inline void write_cr##n(u32 v) { __asm__ volatile("mov %0, %%cr" #n : : "r"(v) : "memory"); }
DEFINE_CR(0)
DEFINE_CR(2)
DEFINE_CR(3)
DEFINE_CR(4)
#undef DEFINE_CR

#define DEFINE_DR(n) \
    static inline u32 read_dr##n(void) { u32 v; __asm__ volatile("mov %%db" #n ", %0" : "=r"(v)); return v; } \
    static inline void write_dr##n(u32 v) { __asm__ volatile("mov %0, %%db" #n : : "r"(v)); }
DEFINE_DR(0)
DEFINE_DR(1)
DEFINE_DR(2)
DEFINE_DR(3)
DEFINE_DR(6)
DEFINE_DR(7)
#undef DEFINE_DR

/* Stops the compiler from caching memory across this point (e.g. after a store through an
 * alias that the page tables create behind its back). */
static inline void barrier(void) { __asm__ volatile("" : : : "memory"); }
/* A 32-bit load the compiler cannot elide or reorder. */
static inline u32 peek32(const volatile void *p) { barrier(); u32 v = *(const volatile u32 *)p; barrier(); return v; }

static inline u32 read_eflags(void) { u32 v; __asm__ volatile("pushfl; popl %0" : "=r"(v)); return v; }
static inline void write_eflags(u32 v) { __asm__ volatile("pushl %0; popfl" : : "r"(v) : "memory", "cc"); }
static inline void cli(void) { __asm__ volatile("cli" : : : "memory"); }
static inline void sti(void) { __asm__ volatile("sti" : : : "memory"); }
static inline void hlt(void) { __asm__ volatile("hlt" : : : "memory"); }
static inline void invlpg(u32 va) { __asm__ volatile("invlpg (%0)" : : "r"(va) : "memory"); }

static inline u64 rdtsc(void) { u32 lo, hi; __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi)); return ((u64)hi << 32) | lo; }
static inline u64 rdmsr(u32 msr)
{
    u32 lo, hi;
    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return ((u64)hi << 32) | lo;
}
static inline void wrmsr(u32 msr, u64 v)
{
    __asm__ volatile("wrmsr" : : "c"(msr), "a"((u32)v), "d"((u32)(v >> 32)) : "memory");
}
static inline void cpuid(u32 leaf, u32 *a, u32 *b, u32 *c, u32 *d)
{
    __asm__ volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d) : "a"(leaf), "c"(0));
}

struct __attribute__((packed)) dtr {
    u16 limit;
    u32 base;
};
static inline void lgdt(const struct dtr *d) { __asm__ volatile("lgdt %0" : : "m"(*d) : "memory"); }
static inline void lidt(const struct dtr *d) { __asm__ volatile("lidt %0" : : "m"(*d) : "memory"); }
static inline void sgdt(struct dtr *d) { __asm__ volatile("sgdt %0" : "=m"(*d)); }
static inline void sidt(struct dtr *d) { __asm__ volatile("sidt %0" : "=m"(*d)); }
static inline void ltr(u16 sel) { __asm__ volatile("ltr %0" : : "r"(sel) : "memory"); }
static inline void lldt(u16 sel) { __asm__ volatile("lldt %0" : : "r"(sel) : "memory"); }
static inline u16 str(void) { u16 v; __asm__ volatile("str %0" : "=r"(v)); return v; }
static inline u16 sldt(void) { u16 v; __asm__ volatile("sldt %0" : "=r"(v)); return v; }

#define DEFINE_SEG(name) \
    static inline u16 read_##name(void) { u16 v; __asm__ volatile("mov %%" #name ", %0" : "=r"(v)); return v; } \
    static inline void write_##name(u16 v) { __asm__ volatile("mov %0, %%" #name : : "r"(v) : "memory"); }
DEFINE_SEG(ds)
DEFINE_SEG(es)
DEFINE_SEG(fs)
DEFINE_SEG(gs)
DEFINE_SEG(ss)
#undef DEFINE_SEG
static inline u16 read_cs(void) { u16 v; __asm__ volatile("mov %%cs, %0" : "=r"(v)); return v; }
#endif
