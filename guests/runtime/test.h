/* Test reporting on COM1: one line per case, exactly "PASS <name>" or "FAIL <name>: <details>",
 * and a final "DONE <passed>/<total>" line; the guest then exits 0 if all passed, else 1.
 * A case is test_begin(name), any number of expectations, test_end(); only the first failed
 * expectation of a case is printed. */
#ifndef RT_TEST_H
#define RT_TEST_H
#include "types.h"

/* Serial, descriptor tables and traps, and the PICs remapped to 0x20/0x28 with every line masked:
 * what every test guest calls first. */
void rt_init(void);

void test_begin(const char *name);
void test_end(void);
/* Records a failure of the current case with a formatted detail (first one printed). */
void test_failf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Returns cond; on false records "<what>" as the failure detail. */
int test_expect(int cond, const char *what);
int test_expect_eq(const char *what, u32 got, u32 want);
int test_expect_eq64(const char *what, u64 got, u64 want);
/* Prints DONE and exits. */
void test_finish(void) __attribute__((noreturn));
/* A failure outside any expectation (unexpected trap): FAIL the current case, DONE, exit 1. */
void test_abort(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

#define EXPECT(cond) test_expect((cond), #cond)
#define EXPECT_EQ(got, want) test_expect_eq(#got, (u32)(got), (u32)(want))
#define EXPECT_EQ64(got, want) test_expect_eq64(#got, (u64)(got), (u64)(want))
/* A one-expectation case. */
#define CHECK_EQ(name, got, want) do { test_begin(name); EXPECT_EQ(got, want); test_end(); } while (0)
#endif
