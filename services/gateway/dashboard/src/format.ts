// Number formatting shared by every panel (en-US grouping, so tests and humans read the same).

const INT = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

export function int(n: number): string {
  return INT.format(n);
}

/** Dollars: cents above $1, four decimals below, two significant digits for tiny amounts. */
export function usd(n: number): string {
  if (n === 0) return '$0.00';
  const abs = Math.abs(n);
  if (abs >= 1) return `$${n.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
  if (abs >= 0.0001) return `$${n.toFixed(4)}`;
  return `$${n.toPrecision(2)}`;
}

export function seconds(s: number | null): string {
  if (s === null) return '–';
  if (s < 1) return `${Math.round(s * 1000)} ms`;
  return `${s.toFixed(2)} s`;
}

export function percent(ratio: number): string {
  return `${(ratio * 100).toFixed(ratio > 0 && ratio < 0.001 ? 2 : 1)}%`;
}

const SIGNED_PERCENT = new Intl.NumberFormat('en-US', {
  style: 'percent',
  signDisplay: 'exceptZero',
  minimumFractionDigits: 1,
  maximumFractionDigits: 1,
});

/** `+8.0%`, `-5.1%`; a ratio that rounds to zero shows as `0.0%`, with no sign. */
export function signedPercent(ratio: number): string {
  return SIGNED_PERCENT.format(ratio);
}

/** `part` as a percentage of `whole` (`81.1%`); `—` when `whole` is 0, where no share exists. */
export function share(part: number, whole: number): string {
  return whole > 0 ? percent(part / whole) : '—';
}

/** Short bucket label: `25ms`, `2.5s`, `>10s`. */
export function bucketLabel(le: number | '+Inf', previous: number | undefined): string {
  if (le === '+Inf') return `>${previous === undefined ? 0 : bucketLabel(previous, undefined)}`;
  return le < 1 ? `${Math.round(le * 1000)}ms` : `${le}s`;
}

export function clock(date: Date): string {
  return date.toLocaleTimeString('en-GB', { hour12: false });
}

/** `14:05` today, `27 Nov 14:05` before. */
export function sinceText(date: Date): string {
  const time = date.toLocaleTimeString('en-GB', { hour: '2-digit', minute: '2-digit' });
  if (date.toDateString() === new Date().toDateString()) return time;
  return `${date.toLocaleDateString('en-GB', { day: 'numeric', month: 'short' })} ${time}`;
}
