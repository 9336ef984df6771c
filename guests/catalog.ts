/**
 * The guest programs built from guests/src by guests/build.sh, with what each one expects from the
 * machine and where its reference transcript is (guests/README.md). Tests and tools outside
 * guests/ find images and expected output through this table instead of hard-coding paths.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** How an image is started: a multiboot v1 ELF32, or a flat binary loaded at a fixed address. */
export const GUEST_KINDS = {
  /** Multiboot v1 (Multiboot Specification 0.6.96 §3.2 machine state): EAX = 0x2BADB002, EBX = info. */
  MULTIBOOT: 'multiboot',
  /** A raw binary entered in real mode at `load` with the given initial registers. */
  RAW_REAL: 'raw-real',
} as const;

export type GuestKind = (typeof GUEST_KINDS)[keyof typeof GUEST_KINDS];

/** Where the expected transcript came from. */
export const TRANSCRIPT_SOURCES = {
  /** Recorded by guests/record.sh from QEMU 7.2 TCG (`-cpu pentium3`). */
  QEMU: 'qemu',
  /** Written by hand from the SDM, because QEMU cannot run the image or deviates (README.md). */
  HAND: 'hand',
} as const;

export type TranscriptSource = (typeof TRANSCRIPT_SOURCES)[keyof typeof TRANSCRIPT_SOURCES];

/**
 * Machine parts a guest depends on beyond the CPU and RAM. A bare CPU harness that only captures
 * COM1 output and the debug-exit port can run the guests that need nothing else.
 */
export const GUEST_DEVICES = {
  /** COM1 transmit only: THR writes are output, LSR reads THRE set; other UART registers may be ignored. */
  COM1_OUTPUT: 'com1-output',
  /** isa-debug-exit at 0xF4 (QEMU semantics). */
  DEBUG_EXIT: 'debug-exit',
  /** A full 16550A on COM1 (register read-back, loopback, interrupts on IRQ4). */
  UART: 'uart',
  /** The 8259A pair at 0x20/0xA0 delivering interrupts. */
  PIC: 'pic',
  /** The 8254 at 0x40-0x43 with IRQ0, and channel 2 on port 0x61. */
  PIT: 'pit',
  /** The MC146818 RTC at 0x70/0x71 with its periodic interrupt on IRQ8. */
  RTC: 'rtc',
} as const;

export type GuestDevice = (typeof GUEST_DEVICES)[keyof typeof GUEST_DEVICES];

const D = GUEST_DEVICES;
/** What every multiboot guest uses. */
const BASIC: readonly GuestDevice[] = [D.COM1_OUTPUT, D.DEBUG_EXIT];

/** One guest: its image file (relative to guests/images) and how to run and judge it. */
export interface GuestSpec {
  readonly image: string;
  readonly kind: GuestKind;
  /** Prints `PASS <case>` / `FAIL <case>: <details>` lines and a final `DONE <passed>/<total>`. */
  readonly selfChecking: boolean;
  readonly transcript: TranscriptSource;
  /** Devices the guest needs to produce its expected transcript. */
  readonly needs: readonly GuestDevice[];
  /** Raw images only: guest-physical load address (= entry point) and registers at entry. */
  readonly load?: number;
  readonly registers?: { readonly eax?: number; readonly ebx?: number };
  /**
   * The exit status tskvm must give when it differs from the reference run's (DESIGN.md
   * "Exit status"): QEMU -no-reboot exits 0 after a triple fault, tskvm exits 3.
   */
  readonly tskvmStatus?: number;
  /** What the guest exercises. */
  readonly covers: string;
}

/** Every guest in guests/images, by name (the image's base name). */
export const GUESTS = {
  'realmode-add': {
    image: 'realmode-add.bin',
    kind: GUEST_KINDS.RAW_REAL,
    selfChecking: false,
    transcript: TRANSCRIPT_SOURCES.HAND,
    needs: [D.COM1_OUTPUT],
    // The LWN "Using the KVM API" example: code at 0x1000, CS = 0, AL = BL = 2 → prints "4\n".
    load: 0x1000,
    registers: { eax: 2, ebx: 2 },
    covers: 'the 12-byte KVM API example: 16-bit ADD, OUT to COM1, HLT',
  },
  hello: {
    image: 'hello.elf',
    kind: GUEST_KINDS.MULTIBOOT,
    selfChecking: false,
    transcript: TRANSCRIPT_SOURCES.QEMU,
    needs: BASIC,
    covers: 'multiboot entry, COM1 output, exit through the debug-exit port',
  },
  'cpu-alu': {
    image: 'cpu-alu.elf',
    kind: GUEST_KINDS.MULTIBOOT,
    selfChecking: true,
    transcript: TRANSCRIPT_SOURCES.QEMU,
    needs: BASIC,
    covers: 'ADD ADC SUB SBB CMP AND OR XOR TEST INC DEC NEG NOT, shifts and rotates incl. SHLD/SHRD, 8/16/32 bits, defined flags',
  },
  'cpu-muldiv': {
    image: 'cpu-muldiv.elf',
    kind: GUEST_KINDS.MULTIBOOT,
    selfChecking: true,
    transcript: TRANSCRIPT_SOURCES.QEMU,
    needs: BASIC,
    covers: 'MUL IMUL DIV IDIV with #DE, DAA DAS AAA AAS AAM AAD',
  },
  'cpu-misc': {
    image: 'cpu-misc.elf',
    kind: GUEST_KINDS.MULTIBOOT,
    selfChecking: true,
    transcript: TRANSCRIPT_SOURCES.QEMU,
    needs: BASIC,
    covers: 'string instructions with REP and DF=1, BT*, BSF/BSR, SETcc/CMOVcc/Jcc, XCHG XADD CMPXCHG CMPXCHG8B, BSWAP, ENTER/LEAVE, PUSHA/POPA, 0x66/0x67 in 32-bit code',
  },
  'cpu-system': {
    image: 'cpu-system.elf',
    kind: GUEST_KINDS.MULTIBOOT,
    selfChecking: true,
    transcript: TRANSCRIPT_SOURCES.QEMU,
    needs: [...BASIC, D.UART, D.PIC, D.PIT],
    covers: 'far transfers, ring 3 via IRET and INT gates, call gate, SYSENTER, I/O bitmap, LGDT/LIDT/LTR/LLDT, CRs, DRs, CPUID, RDTSC, MSRs, port I/O, HLT+PIT, STI shadow',
  },
  'cpu-paging': {
    image: 'cpu-paging.elf',
    kind: GUEST_KINDS.MULTIBOOT,
    selfChecking: true,
    transcript: TRANSCRIPT_SOURCES.QEMU,
    needs: BASIC,
    covers: '4 KiB and 4 MiB pages, #PF error codes and CR2, CR0.WP, user/supervisor, A/D bits, INVLPG, page-crossing accesses, REP MOVS restart after #PF',
  },
  'cpu-exceptions': {
    image: 'cpu-exceptions.elf',
    kind: GUEST_KINDS.MULTIBOOT,
    selfChecking: true,
    transcript: TRANSCRIPT_SOURCES.QEMU,
    needs: BASIC,
    covers: '#DE #DB (single step, MOV SS shadow) #BP #OF #BR #UD #NM #NP #SS #GP with error codes, double fault',
  },
  'cpu-mode16': {
    image: 'cpu-mode16.elf',
    kind: GUEST_KINDS.MULTIBOOT,
    selfChecking: true,
    transcript: TRANSCRIPT_SOURCES.QEMU,
    needs: BASIC,
    covers: '16-bit code segment with 0x66/0x67, switch to real mode and back, IVT INT, 16-bit addressing',
  },
  'cpu-segments': {
    image: 'cpu-segments.elf',
    kind: GUEST_KINDS.MULTIBOOT,
    selfChecking: true,
    transcript: TRANSCRIPT_SOURCES.QEMU,
    needs: BASIC,
    covers: 'LAR LSL VERR VERW ARPL, segment overrides with a base, PUSH/POP Sreg, SMSW/LMSW/CLTS, POPF privilege rules, IRET EFLAGS, trap vs interrupt gates, self-modifying code',
  },
  'cpu-tasks': {
    image: 'cpu-tasks.elf',
    kind: GUEST_KINDS.MULTIBOOT,
    selfChecking: true,
    transcript: TRANSCRIPT_SOURCES.QEMU,
    needs: BASIC,
    covers: 'hardware task switches: JMP and CALL to a TSS, IRET with NT, task gate for INT and for #DF, busy bits',
  },
  'cpu-tcg-gaps': {
    image: 'cpu-tcg-gaps.elf',
    kind: GUEST_KINDS.MULTIBOOT,
    selfChecking: true,
    transcript: TRANSCRIPT_SOURCES.HAND,
    needs: BASIC,
    covers: '#GP on unknown MSRs, segment limit and type checks, invalid CR0 combinations (QEMU TCG skips these)',
  },
  'dev-uart': {
    image: 'dev-uart.elf',
    kind: GUEST_KINDS.MULTIBOOT,
    selfChecking: true,
    transcript: TRANSCRIPT_SOURCES.QEMU,
    needs: [...BASIC, D.UART, D.PIC, D.PIT],
    covers: '16550 divisor latch, register read-back, IIR/LSR, loopback (MSR mirrors MCR, FIFO order), THRE interrupt, IRQ4 via the PIC',
  },
  'dev-pic-pit': {
    image: 'dev-pic-pit.elf',
    kind: GUEST_KINDS.MULTIBOOT,
    selfChecking: true,
    transcript: TRANSCRIPT_SOURCES.QEMU,
    needs: [...BASIC, D.PIC, D.PIT, D.RTC],
    covers: '8259 IMR/IRR/ISR/EOI, 8254 read-back status, latched count, channel 2 OUT on port 0x61, periodic IRQ0 with HLT, RTC IRQ8 through the slave PIC',
  },
  'triple-fault': {
    image: 'triple-fault.elf',
    kind: GUEST_KINDS.MULTIBOOT,
    selfChecking: false,
    transcript: TRANSCRIPT_SOURCES.QEMU,
    needs: [D.COM1_OUTPUT],
    tskvmStatus: 3,
    covers: 'a triple fault ends the VM (QEMU -no-reboot exits 0; tskvm exits 3)',
  },
} as const satisfies Record<string, GuestSpec>;

export type GuestName = keyof typeof GUESTS;

/** Names of all guests, in table order. */
export const GUEST_NAMES = Object.keys(GUESTS) as GuestName[];

/** Expected host failures of this module (tier 2). */
export const GUEST_ERROR_CODES = {
  /** An image or expected-output file is not where guests/build.sh and record.sh put it. */
  MISSING_FILE: 'MISSING_FILE',
  /** An expected .status file does not hold a decimal exit status. */
  BAD_STATUS: 'BAD_STATUS',
} as const;

export type GuestErrorCode = (typeof GUEST_ERROR_CODES)[keyof typeof GUEST_ERROR_CODES];

/** A guest file that is missing or malformed, with a stable code. */
export class GuestError extends Error {
  override readonly name = 'GuestError';
  constructor(
    readonly code: GuestErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The guests/ directory: next to this module when run from source, or ../../guests when run
 * from the compiled dist/guests/ (images are not copied by tsc).
 */
function findGuestsDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const candidate of [here, join(here, '..', '..', 'guests')]) {
    if (existsSync(join(candidate, 'images'))) return candidate;
  }
  return here;
}

/** Absolute path of guests/. */
export const GUESTS_DIR = findGuestsDir();

function readRequired(path: string): Buffer {
  if (!existsSync(path)) throw new GuestError(GUEST_ERROR_CODES.MISSING_FILE, `missing guest file ${path} (run guests/build.sh / guests/record.sh)`);
  return readFileSync(path);
}

/** Absolute path of a guest's image (dir: a guests/ directory, by default this one). */
export function guestImagePath(name: GuestName, dir: string = GUESTS_DIR): string {
  return join(dir, 'images', GUESTS[name].image);
}

/** The bytes of a guest's image. Throws GuestError MISSING_FILE when it is not there. */
export function readGuestImage(name: GuestName, dir: string = GUESTS_DIR): Uint8Array {
  return new Uint8Array(readRequired(guestImagePath(name, dir)));
}

/** What a correct machine prints on COM1 and the exit status QEMU (or the hand-written reference) gave. */
export interface ExpectedRun {
  /** Exact COM1 bytes. */
  readonly output: Uint8Array;
  /** QEMU's process exit status: (code << 1) | 1 after a debug-exit write of code; 0 after a triple fault. */
  readonly status: number;
}

/** The exit status tskvm must give for a guest: its tskvmStatus, else the reference run's. */
export function tskvmExpectedStatus(name: GuestName, dir: string = GUESTS_DIR): number {
  const spec: GuestSpec = GUESTS[name];
  return spec.tskvmStatus ?? readExpected(name, dir).status;
}

/**
 * The expected transcript and exit status of a guest (guests/expected/<name>.txt and .status).
 * Throws GuestError MISSING_FILE or BAD_STATUS.
 */
export function readExpected(name: GuestName, dir: string = GUESTS_DIR): ExpectedRun {
  const base = join(dir, 'expected', name);
  const output = new Uint8Array(readRequired(`${base}.txt`));
  const statusText = readRequired(`${base}.status`).toString('utf8').trim();
  if (!/^[0-9]+$/.test(statusText)) throw new GuestError(GUEST_ERROR_CODES.BAD_STATUS, `${base}.status holds ${JSON.stringify(statusText)}, not an exit status`);
  return { output, status: Number(statusText) };
}
