import { useEffect, useMemo, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { formatCompact, formatValue, formatWindow, type ValueFormat } from '../format.ts';
import type { ChartData } from '../series.ts';

/** Series colours, in order (chosen to stay distinct on the dark background). */
export const PALETTE = ['#5b8cff', '#2fd4a7', '#f7b955', '#ff6b8b', '#a78bfa', '#38bdf8', '#fb923c', '#a3e635', '#f472b6', '#94a3b8'];

/** Props of {@link Chart}. */
export interface ChartProps {
  data: ChartData;
  /** `stacked` draws bars stacked in series order (the legend still shows each series' own value). */
  kind?: 'line' | 'area' | 'bars' | 'stacked';
  height?: number;
  colors?: string[];
  /** IANA zone of the time axis. */
  timeZone?: string;
  legend?: boolean;
  testId?: string;
  /** Start the y axis at zero (default) rather than at the smallest value. */
  yMinZero?: boolean;
  /** Per-series overrides (e.g. a dashed limit line), by series index. */
  seriesStyle?: Partial<uPlot.Series>[];
  /** The queried range, exposed as data-from / data-to next to the data. */
  range?: { from: string; to: string };
  /** The answer's window size: the legend names the hovered window as the table does. */
  windowSize?: string | null;
  /** How values read in the legend (unit, precision); plain grouped digits without it. */
  format?: ValueFormat;
}

/** 24-hour axis labels: [tick size, label, then the extra line when the day/year changes…]. */
const TIME_AXIS: uPlot.Axis.Values = [
  [3600 * 24 * 365, '{YYYY}', null, null, null, null, null, null, 1],
  [3600 * 24 * 28, '{MMM}', '\n{YYYY}', null, null, null, null, null, 1],
  [3600 * 24, '{D} {MMM}', '\n{YYYY}', null, null, null, null, null, 1],
  [3600, '{HH}:{mm}', '\n{D} {MMM}', null, '\n{D} {MMM}', null, null, null, 1],
  [60, '{HH}:{mm}', '\n{D} {MMM}', null, '\n{D} {MMM}', null, null, null, 1],
  [1, '{HH}:{mm}:{ss}', '\n{D} {MMM}', null, '\n{D} {MMM}', null, null, null, 1],
] as unknown as uPlot.Axis.Values;

/** Tick steps of an axis of day (or month) windows: whole days only, never hours. */
const DAY_INCRS = [1, 2, 7, 14, 28, 56, 91, 182, 365].map((d) => d * 86_400);

/** The exact value a legend shows for window `idx` (0 where an additive series has no row). */
function legendValue(raw: (string | null)[], values: (number | null)[], idx: number | null): string | null {
  if (idx === null) return null;
  return raw[idx] ?? (values[idx] === 0 ? '0' : null);
}

/** The index the legend describes: the hovered one, or the latest window with a value. */
function latestIndex(data: ChartData): number | null {
  for (let i = data.x.length - 1; i >= 0; i--) if (data.series.some((s) => s.raw[i] !== null)) return i;
  return null;
}

function stack(values: (number | null)[][]): number[][] {
  const out: number[][] = [];
  let acc = values[0]?.map(() => 0) ?? [];
  for (const v of values) {
    acc = acc.map((a, i) => a + (v[i] ?? 0));
    out.push(acc);
  }
  return out;
}

/**
 * A uPlot time-series chart that follows its container's width. The exact numbers it plots are
 * exposed as `data-chart` (window starts and the API's value strings per series), so tests and
 * curious users can check the drawing against the API.
 */
export function Chart({ data, kind = 'line', height = 260, colors = PALETTE, timeZone = 'UTC', legend = true, testId, yMinZero = true, range, seriesStyle, windowSize, format }: ChartProps) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const exposed = useMemo(
    () => JSON.stringify({ x: data.x.map((s) => new Date(s * 1000).toISOString()), series: data.series.map((s) => ({ label: s.label, values: s.raw })) }),
    [data],
  );

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const n = data.series.length;
    // Stacked bars: draw cumulative values, top layer first, so each layer shows its own band.
    const order = kind === 'stacked' ? [...data.series.keys()].reverse() : [...data.series.keys()];
    const cum = kind === 'stacked' ? stack(data.series.map((s) => s.values)) : undefined;
    const ys = order.map((i) => (cum ? cum[i]! : data.series[i]!.values));
    const bars = kind === 'bars' || kind === 'stacked';
    const barPath = uPlot.paths.bars?.({ size: [0.72, 28], gap: 1 });
    const opts: uPlot.Options = {
      width: Math.max(200, el.clientWidth),
      height,
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), timeZone),
      legend: { show: legend, live: true },
      cursor: { points: { size: 7 }, drag: { x: true, y: false } },
      scales: { x: { time: true }, y: { range: (_u, min, max) => [yMinZero ? Math.min(0, min) : min, max <= 0 && min >= 0 ? 1 : max + (max - Math.min(0, min)) * 0.08] } },
      axes: [
        { values: TIME_AXIS, ...(windowSize === 'DAY' || windowSize === 'MONTH' ? { incrs: DAY_INCRS } : {}), stroke: '#8b93a7', grid: { stroke: 'rgba(139,147,167,0.10)', width: 1 }, ticks: { stroke: 'rgba(139,147,167,0.2)' }, font: '11px Inter, system-ui, sans-serif' },
        { stroke: '#8b93a7', grid: { stroke: 'rgba(139,147,167,0.10)', width: 1 }, ticks: { show: false }, size: 52, values: (_u, vals) => vals.map((v) => formatCompact(v)), font: '11px Inter, system-ui, sans-serif' },
      ],
      series: [
        {
          // The legend says which window its numbers are for: the hovered one, else the latest.
          label: 'at',
          value: (_u, _v, _si, idx) => {
            const i = idx ?? latestIndex(data);
            if (i === null) return '–';
            const when = formatWindow(new Date(data.x[i]! * 1000).toISOString(), windowSize ?? null, timeZone);
            return idx === null ? `${when} (latest)` : when;
          },
        },
        ...order.map((i) => {
          const color = colors[i % colors.length]!;
          const s: uPlot.Series = {
            label: data.series[i]!.label,
            stroke: color,
            width: bars ? 0 : 2,
            points: { show: !bars && data.x.length <= 48, size: 5, fill: color },
            value: (_u, _v, _si, idx) => {
              const v = legendValue(data.series[i]!.raw, data.series[i]!.values, idx ?? latestIndex(data));
              return v === null ? '–' : format ? formatValue(v, format) : formatValue(v, { aggregation: 'SUM' });
            },
          };
          if (bars) {
            s.paths = barPath;
            s.fill = color;
          } else if (kind === 'area' || n === 1) s.fill = `${color}22`;
          return { ...s, ...seriesStyle?.[i] };
        }),
      ],
    };
    const u = new uPlot(opts, [data.x, ...ys] as uPlot.AlignedData, el);
    plot.current = u;
    const ro = new ResizeObserver(() => u.setSize({ width: Math.max(200, el.clientWidth), height }));
    ro.observe(el);
    return () => {
      ro.disconnect();
      u.destroy();
      plot.current = null;
    };
  }, [data, kind, height, colors, timeZone, legend, yMinZero, seriesStyle, windowSize, format]);

  return <div className="chart" ref={box} data-testid={testId} data-chart={exposed} data-from={range?.from} data-to={range?.to} />;
}
