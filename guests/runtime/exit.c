/* exit(): a 32-bit write of the code to the debug-exit port, then halt with interrupts off. */
#include "exit.h"
#include "io.h"

void halt_forever(void)
{
    for (;;)
        __asm__ volatile("cli; hlt");
}

void exit(u32 code)
{
    outl(DEBUG_EXIT_PORT, code);
    halt_forever();
}
