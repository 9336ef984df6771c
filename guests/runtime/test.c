/* The PASS/FAIL/DONE reporting protocol shared by every test guest. */
#include "test.h"
#include "desc.h"
#include "exit.h"
#include "pic.h"
#include "printf.h"
#include "serial.h"

typedef __builtin_va_list va_list;
#define va_start(ap, last) __builtin_va_start(ap, last)
#define va_end(ap) __builtin_va_end(ap)

static const char *current;
static int current_failed;
static u32 passed, total;
static char detail[160];

void rt_init(void)
{
    serial_init();
    desc_init();
    /* A known interrupt state: a BIOS may have left IRQ0 unmasked at vector 8, which would look
     * like a double fault the first time a test sets IF. */
    pic_remap();
}

void test_begin(const char *name)
{
    current = name;
    current_failed = 0;
}

static void record_failure(void)
{
    if (!current_failed)
        printf("FAIL %s: %s\n", current ? current : "(no case)", detail);
    current_failed = 1;
}

void test_failf(const char *fmt, ...)
{
    if (current_failed)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    record_failure();
}

int test_expect(int cond, const char *what)
{
    if (!cond)
        test_failf("%s", what);
    return cond;
}

int test_expect_eq(const char *what, u32 got, u32 want)
{
    if (got != want)
        test_failf("%s = 0x%x, want 0x%x", what, got, want);
    return got == want;
}

int test_expect_eq64(const char *what, u64 got, u64 want)
{
    if (got != want)
        test_failf("%s = 0x%llx, want 0x%llx", what, got, want);
    return got == want;
}

void test_end(void)
{
    total++;
    if (!current_failed) {
        passed++;
        printf("PASS %s\n", current);
    }
    current = NULL;
    current_failed = 0;
}

void test_finish(void)
{
    printf("DONE %u/%u\n", passed, total);
    exit(passed == total ? 0 : 1);
}

void test_abort(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    current_failed = 0;
    record_failure();
    total++;
    test_finish();
}
