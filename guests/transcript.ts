/**
 * Parser for the test guests' COM1 protocol (guests/README.md "Output protocol"): one
 * `PASS <case>` or `FAIL <case>: <details>` line per case, then `DONE <passed>/<total>`.
 * Other lines (e.g. bytes a case sends to COM1 on purpose) are kept as `other`.
 */

/** One failed case. */
export interface FailedCase {
  readonly name: string;
  readonly detail: string;
}

/** The cases of a transcript, in order of appearance. */
export interface TestTranscript {
  readonly passed: readonly string[];
  readonly failed: readonly FailedCase[];
  /** The DONE line's counts, or undefined when the guest stopped before printing it. */
  readonly done: { readonly passed: number; readonly total: number } | undefined;
  readonly other: readonly string[];
}

const PASS_LINE = /^PASS (\S+)$/;
const FAIL_LINE = /^FAIL (\S+): (.*)$/;
const DONE_LINE = /^DONE ([0-9]+)\/([0-9]+)$/;

/** Splits a guest transcript into passed and failed cases and the DONE counts. */
export function parseTranscript(text: string): TestTranscript {
  const passed: string[] = [];
  const failed: FailedCase[] = [];
  const other: string[] = [];
  let done: TestTranscript['done'];
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  for (const line of lines) {
    const pass = PASS_LINE.exec(line);
    const fail = FAIL_LINE.exec(line);
    const fin = DONE_LINE.exec(line);
    if (pass?.[1] !== undefined) passed.push(pass[1]);
    else if (fail?.[1] !== undefined && fail[2] !== undefined) failed.push({ name: fail[1], detail: fail[2] });
    else if (fin?.[1] !== undefined && fin[2] !== undefined) done = { passed: Number(fin[1]), total: Number(fin[2]) };
    else other.push(line);
  }
  return { passed, failed, done, other };
}
