// uPlot charts and the cost gauge. Every chart keeps the fixed size of its box (CSS sets it), so
// new data never moves the layout; each box carries `data-points` (x positions with a value),
// `data-max` (largest value drawn) and `data-maxes` (each series' largest, comma-separated) so a
// test, or a curious operator, can read what was drawn.

import uPlot from 'uplot';

export const COLORS = {
  prompt: '#5b9cf6',
  completion: '#b07cf7',
  reasoning: '#e58fd8',
  requests: '#3fc98b',
  errors: '#f2685c',
  latency: '#f2b84b',
  limited: '#ef8f3a',
  axis: '#9aa4b5',
  grid: 'rgba(154, 164, 181, 0.14)',
};

export type Series = (number | null)[];

export interface Chart {
  update(xs: number[], ys: Series[]): void;
}

function mark(el: HTMLElement, ys: Series[]): void {
  let points = 0;
  const maxes = ys.map(() => 0);
  const length = ys[0]?.length ?? 0;
  for (let i = 0; i < length; i++) {
    let seen = false;
    for (const [s, y] of ys.entries()) {
      const v = y[i];
      if (typeof v === 'number' && Number.isFinite(v)) {
        seen = true;
        if (v > (maxes[s] ?? 0)) maxes[s] = v;
      }
    }
    if (seen) points++;
  }
  el.dataset.points = String(points);
  el.dataset.max = String(Math.max(0, ...maxes));
  el.dataset.maxes = maxes.join(',');
}

function sizeOf(el: HTMLElement): { width: number; height: number } {
  return { width: Math.max(120, Math.floor(el.clientWidth)), height: Math.max(80, Math.floor(el.clientHeight)) };
}

function follow(el: HTMLElement, plot: uPlot): void {
  new ResizeObserver(() => {
    const size = sizeOf(el);
    if (size.width !== plot.width || size.height !== plot.height) plot.setSize(size);
  }).observe(el);
}

const axisFont = '11px system-ui, sans-serif';

function yAxis(format: (v: number) => string): uPlot.Axis {
  return {
    stroke: COLORS.axis,
    font: axisFont,
    size: 48,
    grid: { stroke: COLORS.grid, width: 1 },
    ticks: { show: false },
    values: (_u, splits) => splits.map(format),
  };
}

function compact(v: number): string {
  if (v >= 1e6) return `${+(v / 1e6).toFixed(1)}M`;
  if (v >= 1e3) return `${+(v / 1e3).toFixed(1)}k`;
  return `${+v.toFixed(2)}`;
}

export interface TimeChartOptions {
  series: { label: string; color: string; fill?: boolean }[];
  format?: (v: number) => string;
  /** Smallest top of the y scale (a flat zero line still shows a scale). */
  minTop?: number;
  bars?: boolean;
  /** Show the last `windowS` seconds up to the newest point (default: the data's own range). */
  windowS?: number;
  /** Mark every point (sparse samples stay visible before they make a line). */
  points?: boolean;
}

/** A time chart (x in seconds since the epoch), lines or bars. */
export function timeChart(el: HTMLElement, options: TimeChartOptions): Chart {
  const format = options.format ?? compact;
  const minTop = options.minTop ?? 1;
  const bars = options.bars ? uPlot.paths.bars?.({ size: [0.7, 24] }) : undefined;
  const plot = new uPlot(
    {
      ...sizeOf(el),
      legend: { show: false },
      cursor: { drag: { x: false, y: false }, points: { size: 6 } },
      scales: {
        x: options.windowS
          ? { time: true, range: (_u, _min, max) => [max - (options.windowS as number), max] }
          : { time: true },
        y: { range: (_u, _min, max) => [0, Math.max(minTop, max * 1.1)] },
      },
      axes: [
        { stroke: COLORS.axis, font: axisFont, grid: { show: false }, ticks: { stroke: COLORS.grid }, size: 28 },
        yAxis(format),
      ],
      series: [
        {},
        ...options.series.map((s) => ({
          label: s.label,
          stroke: s.color,
          width: bars ? 0 : 2,
          fill: s.fill ? `${s.color}33` : bars ? `${s.color}cc` : undefined,
          points: options.points ? { show: true, size: 5, fill: s.color } : { show: false },
          spanGaps: false,
          ...(bars ? { paths: bars } : {}),
        })),
      ],
    },
    [[], ...options.series.map(() => [])],
    el,
  );
  follow(el, plot);
  mark(el, []);
  return {
    update(xs, ys) {
      plot.setData([xs, ...ys] as uPlot.AlignedData);
      mark(el, ys);
    },
  };
}

/** Bars over categories (x = bucket index, labelled by `labels`). */
export function histogram(el: HTMLElement, color: string): Chart & { setLabels(labels: string[]): void } {
  let labels: string[] = [];
  const plot = new uPlot(
    {
      ...sizeOf(el),
      legend: { show: false },
      cursor: { drag: { x: false, y: false }, points: { show: false } },
      scales: {
        x: { time: false, range: (_u, min, max) => [min - 0.5, max + 0.5] },
        y: { range: (_u, _min, max) => [0, Math.max(1, max * 1.1)] },
      },
      axes: [
        {
          stroke: COLORS.axis,
          font: '10px system-ui, sans-serif',
          grid: { show: false },
          ticks: { show: false },
          size: 26,
          space: 34,
          incrs: [1, 2, 3, 4, 5],
          values: (_u, splits) => splits.map((i) => labels[i] ?? ''),
        },
        yAxis(compact),
      ],
      series: [
        {},
        {
          label: 'requests',
          stroke: color,
          fill: `${color}cc`,
          width: 1,
          points: { show: false },
          paths: uPlot.paths.bars?.({ size: [0.8, 40] }),
        },
      ],
    },
    [[], []],
    el,
  );
  follow(el, plot);
  mark(el, []);
  return {
    setLabels(next) {
      labels = next;
    },
    update(xs, ys) {
      plot.setData([xs, ...ys] as uPlot.AlignedData);
      mark(el, ys);
    },
  };
}

/**
 * A half-circle gauge on a canvas: `value` against `max`, a warning tick at `warnAt` (a fraction
 * of max). Redrawn at the box's size and the screen's pixel ratio.
 */
export function gauge(el: HTMLElement, canvas: HTMLCanvasElement) {
  let last: { value: number; max: number; warnAt: number; label: string } | undefined;
  const draw = () => {
    const ratio = window.devicePixelRatio || 1;
    const { clientWidth: w, clientHeight: h } = el;
    canvas.width = Math.floor(w * ratio);
    canvas.height = Math.floor(h * ratio);
    const ctx = canvas.getContext('2d');
    if (!ctx) return;
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, w, h);
    const radius = Math.max(10, Math.min(w / 2 - 10, h - 34));
    const cx = w / 2;
    const cy = radius + 12;
    const arc = (from: number, to: number, color: string, width: number) => {
      ctx.beginPath();
      ctx.strokeStyle = color;
      ctx.lineWidth = width;
      ctx.lineCap = 'butt';
      ctx.arc(cx, cy, radius, Math.PI + from * Math.PI, Math.PI + to * Math.PI);
      ctx.stroke();
    };
    arc(0, 1, 'rgba(154, 164, 181, 0.18)', 16);
    const fraction = last && last.max > 0 ? Math.min(1, last.value / last.max) : 0;
    const warnAt = last?.warnAt ?? 0.5;
    const color = fraction >= 1 ? COLORS.errors : fraction >= warnAt ? COLORS.latency : COLORS.requests;
    if (fraction > 0) arc(0, Math.max(fraction, 0.005), color, 16);
    // warning tick
    const angle = Math.PI + warnAt * Math.PI;
    ctx.beginPath();
    ctx.strokeStyle = COLORS.latency;
    ctx.lineWidth = 2;
    ctx.moveTo(cx + Math.cos(angle) * (radius - 12), cy + Math.sin(angle) * (radius - 12));
    ctx.lineTo(cx + Math.cos(angle) * (radius + 12), cy + Math.sin(angle) * (radius + 12));
    ctx.stroke();
    ctx.fillStyle = '#e8ecf3';
    ctx.textAlign = 'center';
    ctx.font = '600 18px system-ui, sans-serif';
    ctx.fillText(last?.label ?? '–', cx, cy - 4);
    ctx.font = '11px system-ui, sans-serif';
    ctx.fillStyle = COLORS.axis;
    ctx.fillText(last && last.max > 0 ? `${Math.round(fraction * 100)}% of threshold` : 'no spend yet', cx, cy + 16);
  };
  new ResizeObserver(draw).observe(el);
  return {
    update(value: number, max: number, warnAt: number, label: string) {
      last = { value, max, warnAt, label };
      el.dataset.points = '1';
      el.dataset.max = String(value);
      draw();
    },
  };
}
