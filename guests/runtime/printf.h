/* A tiny printf to COM1: %s %d %u %x %X %c %% with optional '0' flag and width, and the
 * 'll' length modifier for %x/%u/%d (hex only uses shifts: no 64-bit division needed). */
#ifndef RT_PRINTF_H
#define RT_PRINTF_H
#include "types.h"
int printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int snprintf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int vsnprintf(char *buf, size_t size, const char *fmt, __builtin_va_list ap);
#endif
