/* Leaving the VM through QEMU's isa-debug-exit device (iobase 0xF4): status = (code << 1) | 1. */
#ifndef RT_EXIT_H
#define RT_EXIT_H
#include "types.h"
#define DEBUG_EXIT_PORT 0xF4
void exit(u32 code) __attribute__((noreturn));
void halt_forever(void) __attribute__((noreturn));
#endif
