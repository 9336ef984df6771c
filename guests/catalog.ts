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
  /**
   * A firmware ROM (`tskvm run --bios IMAGE`, QEMU `-bios`): mapped read-only below 4 GiB and, its
   * last 128 KiB at most, below 1 MiB; the vCPU starts at the reset vector F000:FFF0.
   */
  BIOS: 'bios',
  /** A Linux bzImage started through the 32-bit boot protocol (`--kernel`, with --append/--initrd). */
  BZIMAGE: 'bzimage',
} as const;

export type GuestKind = (typeof GUEST_KINDS)[keyof typeof GUEST_KINDS];

/** Where the expected transcript came from. */
export const TRANSCRIPT_SOURCES = {
  /** Recorded by guests/record.sh from QEMU 7.2 TCG (`-cpu pentium3`). */
  QEMU: 'qemu',
  /** Written by hand from the SDM, because QEMU cannot run the image or deviates (README.md). */
  HAND: 'hand',
  /**
   * No reference transcript: virtio-mmio guests (QEMU's PC machine has no virtio-mmio bus; they are
   * self-checking, all PASS expected), benchmarks and the demo (host-dependent lines), spin (never ends).
   */
  NONE: 'none',
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
  /** ATA primary channel 0x1F0-0x1F7/0x3F6, IRQ14, with a master disk (`--disk FILE,if=ide`). */
  ATA: 'ata',
  /** virtio-mmio block device (`--disk FILE,if=virtio`), announced on the command line. */
  VIRTIO_BLK: 'virtio-blk',
  /** virtio-mmio console (`--console virtio[,BACKEND]`). */
  VIRTIO_CONSOLE: 'virtio-console',
  /** virtio-mmio entropy device (`--rng virtio`). */
  VIRTIO_RNG: 'virtio-rng',
  /** virtio-mmio network device (`--net hub:ws://HOST:PORT|loopback`). */
  VIRTIO_NET: 'virtio-net',
} as const;

export type GuestDevice = (typeof GUEST_DEVICES)[keyof typeof GUEST_DEVICES];

/** Interface of a disk a guest needs (tskvm `--disk FILE,if=...`; QEMU `-drive ...,if=ide,index=0`). */
export type GuestDiskInterface = 'ide' | 'virtio';

/** A disk a guest needs: a fresh file of exactly `bytes` zero bytes on the given interface. */
export interface GuestDisk {
  readonly if: GuestDiskInterface;
  readonly bytes: number;
}

/** How to start a guest on tskvm beyond `run --kernel IMAGE` (devices, command line, clock). */
export interface GuestRunArgs {
  /** Multiboot command-line text (`--append`), before the virtio_mmio.device= entries tskvm adds. */
  readonly append?: string;
  /** Disks in `--disk` order. */
  readonly disks?: readonly GuestDisk[];
  /** `--console virtio` (stdio unless the caller picks a backend). */
  readonly console?: boolean;
  /** `--rng virtio`. */
  readonly rng?: boolean;
  /** `--net`: 'hub' needs a running `tskvm hub` and a second instance (virtio-net guest). */
  readonly net?: 'hub' | 'loopback';
  /** `--clock virtual`: output and exit counts are deterministic. */
  readonly virtualClock?: boolean;
}

const D = GUEST_DEVICES;
const MIB = 1024 * 1024;
/** The ATA guests' disk: 2048 sectors (their IDENTIFY checks this exact size). */
const ATA_DISK_1MIB: GuestDisk = { if: 'ide', bytes: MIB };

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
  /** Devices and arguments to start it with on tskvm (absent: `run --kernel IMAGE` alone). */
  readonly run?: GuestRunArgs;
  /** Benchmark guests: prints one result line and exits 0; parameters come from `--append`. */
  readonly benchmark?: boolean;
  /** What the guest exercises. */
  readonly covers: string;
}

/** A benchmark guest: one result line `<name> <params> tsc=0x<cycles> <result>`, exit 0 (status 1). */
function bench(image: string, devices: readonly GuestDevice[], covers: string, run?: GuestRunArgs) {
  return {
    image,
    kind: GUEST_KINDS.MULTIBOOT,
    selfChecking: false,
    transcript: TRANSCRIPT_SOURCES.NONE,
    needs: [...BASIC, ...devices],
    tskvmStatus: 1,
    benchmark: true,
    covers,
    ...(run ? { run } : {}),
  } as const;
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
  'bios-hello': {
    image: 'bios-hello.bin',
    kind: GUEST_KINDS.BIOS,
    selfChecking: true,
    transcript: TRANSCRIPT_SOURCES.QEMU,
    needs: BASIC,
    covers: '64 KiB firmware ROM: reset vector, ROM read through F000:x and 0xFFFF0000+x alike, writes to either copy ignored, RAM at 0x500 and 1 MiB, 32-bit protected mode entered from ROM (run with --bios)',
  },
  'linux-boot': {
    image: 'linux-boot.bzImage',
    kind: GUEST_KINDS.BZIMAGE,
    selfChecking: true,
    transcript: TRANSCRIPT_SOURCES.HAND,
    needs: BASIC,
    run: { append: 'console=ttyS0 root=/dev/ram0' },
    covers: 'Linux 32-bit boot protocol: setup header copied into the zero page, entry registers and segments, command line, e820 map (QEMU boots bzImages through their 16-bit setup, so the transcript follows boot.rst)',
  },
  'cpu-x87': {
    image: 'cpu-x87.elf',
    kind: GUEST_KINDS.MULTIBOOT,
    selfChecking: true,
    transcript: TRANSCRIPT_SOURCES.QEMU,
    needs: BASIC,
    covers: 'x87: stack/tags, constants, arithmetic m32fp/m64fp/m16int/m32int and ST(i), FCOM/FUCOM/FCOMI, FXAM/FTST, m80/int/BCD conversions, FSQRT FRNDINT FSCALE FXTRACT FPREM, FCMOVcc, FNSAVE/FRSTOR/FNSTENV, #MF at FWAIT, CR0.EM/TS/MP #NM',
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
  'dev-ata': {
    image: 'dev-ata.elf',
    kind: GUEST_KINDS.MULTIBOOT,
    selfChecking: true,
    transcript: TRANSCRIPT_SOURCES.QEMU,
    needs: [...BASIC, D.PIC, D.ATA],
    run: { disks: [ATA_DISK_1MIB] },
    covers: 'ATA PIO: IDENTIFY (2048 sectors, LBA48), WRITE/READ SECTORS with IRQ14 (one per sector) and polled with nIEN, FLUSH CACHE, READ/WRITE SECTORS EXT, unknown command → ERR+ABRT, read past the end → ERR+IDNF (or ABRT). Needs a fresh all-zero 1 MiB disk.',
  },
  'dev-timer': {
    image: 'dev-timer.elf',
    kind: GUEST_KINDS.MULTIBOOT,
    selfChecking: true,
    transcript: TRANSCRIPT_SOURCES.QEMU,
    needs: [...BASIC, D.PIC, D.PIT, D.RTC],
    // On the host clock a loaded machine delivers far fewer than 1024 RTC interrupts a second.
    run: { virtualClock: true },
    covers: 'PIT 100 Hz IRQ0 counted with HLT (ticks=, default 20), channel 0 latches after a tick, RTC 1024 Hz IRQ8 counted over 10 PIT ticks; `--append raw=1` adds the raw counts (byte-identical across runs with --clock virtual)',
  },
  'dev-misprogram': {
    image: 'dev-misprogram.elf',
    kind: GUEST_KINDS.MULTIBOOT,
    selfChecking: true,
    transcript: TRANSCRIPT_SOURCES.HAND,
    needs: [...BASIC, D.UART, D.PIC, D.PIT, D.RTC, D.ATA],
    run: { disks: [ATA_DISK_1MIB] },
    covers: 'wrong programming: unknown ATA command (ABRT), ATA write past the end (IDNF/ABRT), UART divisor 0 then restored, PIT mode 7 (= mode 3, periodic), unmapped ports 0x2F8/0x9998/0x9999 read all ones at 8/16/32 bits and ignore writes. Hand-written transcript: QEMU treats PIT mode 7 as one-shot. Needs a 1 MiB disk.',
  },
  spin: {
    image: 'spin.elf',
    kind: GUEST_KINDS.MULTIBOOT,
    selfChecking: false,
    transcript: TRANSCRIPT_SOURCES.NONE,
    needs: [D.COM1_OUTPUT],
    covers: 'prints `spinning` then loops forever with IF=0 (never exits): for kill/timeout tests',
  },
  'virtio-blk': {
    image: 'virtio-blk.elf',
    kind: GUEST_KINDS.MULTIBOOT,
    selfChecking: true,
    transcript: TRANSCRIPT_SOURCES.NONE,
    needs: [...BASIC, D.PIC, D.VIRTIO_BLK],
    run: { disks: [{ if: 'virtio', bytes: MIB }] },
    tskvmStatus: 1,
    covers: 'virtio-blk: capacity, GET_ID, OUT requests with 1, 4 and 3 data descriptors and one INDIRECT table (EVENT_IDX and INDIRECT_DESC negotiated), FLUSH, IN read-back, IN past the end → IOERR, interrupts (irq=0 on --append polls). Prints `wrote 24 sectors`: sectors 1-24 then hold VIRTIO_BLK_GUEST_PATTERN.',
  },
  'virtio-console': {
    image: 'virtio-console.elf',
    kind: GUEST_KINDS.MULTIBOOT,
    selfChecking: true,
    transcript: TRANSCRIPT_SOURCES.NONE,
    needs: [...BASIC, D.PIC, D.VIRTIO_CONSOLE],
    run: { console: true },
    tskvmStatus: 1,
    covers: 'virtio-console port 0: writes `virtio-console ready\n`, then echoes every received byte until it has read a line `quit` (LF or CR), then DONE; PASS lines on COM1',
  },
  'virtio-rng': {
    image: 'virtio-rng.elf',
    kind: GUEST_KINDS.MULTIBOOT,
    selfChecking: true,
    transcript: TRANSCRIPT_SOURCES.NONE,
    needs: [...BASIC, D.PIC, D.VIRTIO_RNG],
    run: { rng: true },
    tskvmStatus: 1,
    covers: 'virtio-rng: two 64-byte requests, each not all zero, different from each other',
  },
  'virtio-net': {
    image: 'virtio-net.elf',
    kind: GUEST_KINDS.MULTIBOOT,
    selfChecking: true,
    transcript: TRANSCRIPT_SOURCES.NONE,
    needs: [...BASIC, D.PIC, D.PIT, D.VIRTIO_NET],
    run: { net: 'hub' },
    tskvmStatus: 1,
    covers: 'virtio-net: two instances on one hub, `--append role=ping` and `role=pong`; broadcast frames with ethertype 0x88B5 and payload `ping N`/`pong N`, 3 exchanges (ping resends every 0.5 s until answered), MAC from config',
  },
  'bench-compute': bench('bench-compute.elf', [], 'integer compute: sieve + CRC-32 + 16x16 matrix product per iteration; `iters=` (default 300, ~100 M instructions); prints a checksum'),
  'bench-cpuid': bench('bench-cpuid.elf', [], '`n=` (default 100000) CPUID executions: one VM exit each'),
  'bench-pio': bench('bench-pio.elf', [D.UART], '`n=` (default 100000) reads of the UART scratch register: port-I/O round trips to the device model'),
  'bench-mmio': bench('bench-mmio.elf', [D.VIRTIO_RNG], '`n=` (default 100000) reads of virtio-mmio MagicValue of the first announced device (any virtio device; e.g. --rng virtio)', { rng: true }),
  'bench-doorbell': bench('bench-doorbell.elf', [D.VIRTIO_RNG], '`n=` (default 100000) QueueNotify writes to a ready queue 0 of the first announced virtio device, no buffers', { rng: true }),
  'bench-console': bench('bench-console.elf', [D.UART, D.PIC], '`bytes=` (default 65536) of output through the 16550 THRE-interrupt ring (`dev=uart`) or virtio-console (`dev=virtio`, also needs --console virtio)'),
  'bench-disk': bench('bench-disk.elf', [D.PIC, D.ATA], '`dev=ata|virtio`, `bs=4096|65536`, `total=` (default 1 MiB), `verify=full|stamp`, `irq=0|1`: sequential write then read-and-check from sector 0; the disk must hold `total` bytes (dev=virtio: --disk FILE,if=virtio)', { disks: [ATA_DISK_1MIB] }),
  'bench-paging': bench('bench-paging.elf', [], '`iters=` (default 200): map 64 pages, touch, INVLPG half, reload CR3, touch the rest through two mappings, unmap'),
  'bench-timer': bench('bench-timer.elf', [D.PIC, D.PIT], '`ticks=` (default 1000) PIT interrupts at 1 kHz, HLT between'),
  demo: {
    image: 'demo.elf',
    kind: GUEST_KINDS.MULTIBOOT,
    selfChecking: false,
    transcript: TRANSCRIPT_SOURCES.NONE,
    needs: [...BASIC, D.PIC, D.PIT, D.ATA, D.VIRTIO_BLK, D.VIRTIO_CONSOLE],
    run: { disks: [ATA_DISK_1MIB, { if: 'virtio', bytes: MIB }], console: true },
    tskvmStatus: 1,
    covers: 'the demo: banner, 5 PIT ticks, sector 1 written/read/restored on the ATA and the virtio-blk disk, a line on virtio-console, exit 0 (a missing device is reported and skipped)',
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
  /** tskvmRunArgs() was not given a disk path or hub URL the guest needs. */
  MISSING_ARGUMENT: 'MISSING_ARGUMENT',
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

/**
 * What the virtio-blk guest leaves on its disk after printing `wrote 24 sectors`: byte `offset`
 * (0-511) of sector `sector` (1-24) is (sector · 31 + offset) mod 256; other sectors are untouched.
 */
export const VIRTIO_BLK_GUEST_PATTERN = {
  FIRST_SECTOR: 1,
  SECTORS: 24,
  SECTOR_BYTES: 512,
  byte: (sector: number, offset: number): number => (sector * 31 + offset) & 0xff,
} as const;

/**
 * The `tskvm run` arguments after `--kernel IMAGE` for a guest's `run` spec. disks: one file path
 * per `run.disks` entry (the caller creates them with the given sizes); hub: the hub URL for
 * `net: 'hub'`; append: replaces the default command line. Throws GuestError MISSING_ARGUMENT
 * when a disk path or the hub URL the guest needs is not given.
 */
export function tskvmRunArgs(name: GuestName, files: { readonly disks?: readonly string[]; readonly hub?: string; readonly append?: string } = {}): string[] {
  const spec: GuestSpec = GUESTS[name];
  const run = spec.run ?? {};
  const args: string[] = [];
  const append = files.append ?? run.append;
  if (append !== undefined) args.push('--append', append);
  (run.disks ?? []).forEach((disk, i) => {
    const path = files.disks?.[i];
    if (path === undefined) throw new GuestError(GUEST_ERROR_CODES.MISSING_ARGUMENT, `${name} needs disk ${i} (${disk.bytes} bytes, if=${disk.if})`);
    args.push('--disk', `${path},if=${disk.if}`);
  });
  if (run.console) args.push('--console', 'virtio');
  if (run.rng) args.push('--rng', 'virtio');
  if (run.net === 'loopback') args.push('--net', 'loopback');
  if (run.net === 'hub') {
    if (files.hub === undefined) throw new GuestError(GUEST_ERROR_CODES.MISSING_ARGUMENT, `${name} needs a hub URL`);
    args.push('--net', `hub:${files.hub}`);
  }
  if (run.virtualClock) args.push('--clock', 'virtual');
  return args;
}
