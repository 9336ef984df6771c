/* The memory functions gcc may call even in freestanding code (GCC manual, "Standards"). */
#ifndef RT_STRING_H
#define RT_STRING_H
#include "types.h"
void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
void *memmove(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
#endif
