/**
 * 16550A register map and bit names, as the National Semiconductor PC16550D datasheet and
 * Linux `include/uapi/linux/serial_reg.h` name them (facts.md §5.1).
 */

/** Register offsets from the port base. Offsets 0 and 1 are the divisor latch while LCR.DLAB = 1. */
export const UART_REG = {
  RBR: 0, // read: receiver buffer
  THR: 0, // write: transmitter holding
  DLL: 0, // DLAB = 1: divisor latch low
  IER: 1,
  DLM: 1, // DLAB = 1: divisor latch high
  IIR: 2, // read
  FCR: 2, // write
  LCR: 3,
  MCR: 4,
  LSR: 5,
  MSR: 6,
  SCR: 7,
} as const;

/** Number of registers (the port window is 8 bytes). */
export const UART_REGISTER_COUNT = 8;

/** Interrupt Enable Register. Only bits 3:0 exist on the 16550A. */
export const UART_IER = {
  RDI: 0x01, // received data available (and character timeout)
  THRI: 0x02, // transmitter holding register empty
  RLSI: 0x04, // receiver line status
  MSI: 0x08, // modem status
  MASK: 0x0f,
} as const;

/** Interrupt Identification Register: bit 0 = no interrupt, bits 3:1 = source, 7:6 = FIFOs on. */
export const UART_IIR = {
  NO_INT: 0x01,
  MSI: 0x00,
  THRI: 0x02,
  RDI: 0x04,
  RLSI: 0x06,
  CTI: 0x0c, // character timeout
  ID_MASK: 0x0f,
  FIFO_ENABLED: 0xc0,
} as const;

/** FIFO Control Register (write-only, shares offset 2 with IIR). */
export const UART_FCR = {
  FE: 0x01, // FIFO enable
  RFR: 0x02, // receiver FIFO reset
  XFR: 0x04, // transmitter FIFO reset
  DMS: 0x08, // DMA mode select (kept, no effect: there is no DMA controller)
  ITL_MASK: 0xc0,
  ITL_SHIFT: 6,
  /** Bits the register keeps. */
  KEPT: 0xc9,
} as const;

/** RX trigger levels selected by FCR bits 7:6. */
export const UART_RX_TRIGGER_LEVELS = [1, 4, 8, 14] as const;

/** Line Control Register. */
export const UART_LCR = {
  WLS_MASK: 0x03, // word length - 5
  STB: 0x04, // 2 stop bits (1.5 with 5-bit words)
  PEN: 0x08, // parity enable
  EPS: 0x10, // even parity
  SPS: 0x20, // stick parity
  SB: 0x40, // set break
  DLAB: 0x80, // divisor latch access
} as const;

/** Modem Control Register. Only bits 4:0 exist. */
export const UART_MCR = {
  DTR: 0x01,
  RTS: 0x02,
  OUT1: 0x04,
  OUT2: 0x08, // on PCs gates the UART's interrupt onto the ISA IRQ line
  LOOP: 0x10,
  MASK: 0x1f,
} as const;

/** Line Status Register. */
export const UART_LSR = {
  DR: 0x01, // data ready
  OE: 0x02, // overrun error
  PE: 0x04, // parity error
  FE: 0x08, // framing error
  BI: 0x10, // break interrupt
  THRE: 0x20, // transmitter holding register empty
  TEMT: 0x40, // transmitter empty
  FIFO_ERR: 0x80, // an error character is in the RX FIFO
  /** Conditions that raise the receiver line status interrupt. */
  INT_ANY: 0x1e,
} as const;

/** Modem Status Register: deltas in 3:0, line states in 7:4. */
export const UART_MSR = {
  DCTS: 0x01,
  DDSR: 0x02,
  TERI: 0x04, // trailing edge of RI
  DDCD: 0x08,
  CTS: 0x10,
  DSR: 0x20,
  RI: 0x40,
  DCD: 0x80,
  ANY_DELTA: 0x0f,
  STATUS_MASK: 0xf0,
} as const;

/** Reset values (QEMU serial_reset; facts.md §5.1). */
export const UART_RESET = {
  IER: 0x00,
  LCR: 0x00,
  MCR: UART_MCR.OUT2,
  LSR: UART_LSR.THRE | UART_LSR.TEMT,
  /** Lines seen from outside while not in loopback: a terminal that is present (CTS, DSR, DCD). */
  MSR: UART_MSR.DCD | UART_MSR.DSR | UART_MSR.CTS,
  DIVISOR: 12, // 9600 baud
} as const;

/** The 1.8432 MHz crystal divided by 16: the rate at divisor 1. */
export const UART_BASE_BAUD = 115_200;
/** Bytes in each of the RX and TX FIFOs. */
export const UART_FIFO_LENGTH = 16;
/** Character times without activity before the RX character-timeout interrupt (datasheet: 4). */
export const UART_TIMEOUT_CHARS = 4;

/** PC COM port bases and ISA IRQs (facts.md §5.1; QEMU serial-isa.c). Each window is 8 ports. */
export const UART_ISA_PORTS = {
  COM1: { base: 0x3f8, irq: 4 },
  COM2: { base: 0x2f8, irq: 3 },
  COM3: { base: 0x3e8, irq: 4 },
  COM4: { base: 0x2e8, irq: 3 },
} as const;
