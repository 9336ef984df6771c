/* Everything a guest program includes. */
#ifndef RT_RT_H
#define RT_RT_H
#include "types.h"
#include "io.h"
#include "serial.h"
#include "printf.h"
#include "string.h"
#include "exit.h"
#include "multiboot.h"
#include "cpu.h"
#include "desc.h"
#include "trap.h"
#include "test.h"
#include "pic.h"
#include "pit.h"
#include "user.h"
#include "paging.h"
#include "timer.h"
#include "cmdline.h"
#include "ata.h"
#include "serial-irq.h"
#include "virtio.h"
#include "virtio-blk.h"
#include "virtio-console.h"
#include "virtio-rng.h"
#include "virtio-net.h"
int main(u32 magic, const struct multiboot_info *info);
#endif
