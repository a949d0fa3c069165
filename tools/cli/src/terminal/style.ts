// Colours and bars for terminal output. Colour only on a TTY and never with NO_COLOR
// (https://no-color.org), so piped output and test captures stay plain text.

export interface Style {
  bold(text: string): string;
  dim(text: string): string;
  red(text: string): string;
  yellow(text: string): string;
  green(text: string): string;
  banner(text: string): string;
}

const wrap = (open: string, close: string) => (text: string) => `\x1b[${open}m${text}\x1b[${close}m`;

export function style(color: boolean): Style {
  if (!color) {
    const same = (text: string) => text;
    return { bold: same, dim: same, red: same, yellow: same, green: same, banner: same };
  }
  return {
    bold: wrap('1', '22'),
    dim: wrap('2', '22'),
    red: wrap('31', '39'),
    yellow: wrap('33', '39'),
    green: wrap('32', '39'),
    banner: wrap('1;97;41', '0'),
  };
}

/** A bar `width` cells wide, filled to `fraction` (clamped to [0, 1]). */
export function bar(fraction: number, width: number): string {
  const clamped = Math.min(1, Math.max(0, Number.isFinite(fraction) ? fraction : 0));
  const full = Math.round(clamped * width);
  return `${'█'.repeat(full)}${'░'.repeat(width - full)}`;
}

const INT = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

export function int(n: number): string {
  return INT.format(n);
}

/** Dollars: cents from $1 up, four decimals below, two significant digits for tiny amounts. */
export function usd(n: number): string {
  if (n === 0) return '$0.00';
  if (Math.abs(n) >= 1) return `$${n.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
  if (Math.abs(n) >= 0.0001) return `$${n.toFixed(4)}`;
  return `$${n.toPrecision(2)}`;
}

/** `12.5%`: one decimal. */
export function percent(ratio: number): string {
  return `${(ratio * 100).toFixed(1)}%`;
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

/** `part` as a percentage of `whole`; `—` when `whole` is 0, where no share exists. */
export function share(part: number, whole: number): string {
  return whole > 0 ? percent(part / whole) : '—';
}
