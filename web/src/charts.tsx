/**
 * Charts that read with little data. A day-by-day series drawn as an area or a
 * line needs a few points to say anything: with one day of data it is a lone dot
 * or a spike in a row of zeros. Below FEW points with data, TimeChart draws the
 * days that have data as labelled bars instead. Colours are theme colours
 * ("indigo.6"…) and the axes, grid and labels use Mantine's chart variables, so
 * both colour schemes read.
 */
import { AreaChart, BarChart, LineChart } from "@mantine/charts";
import type { MantineColor } from "@mantine/core";
import { num } from "./format";

/** Fewer points with data than this: labelled bars. */
export const FEW = 3;

interface Series {
  name: string;
  label?: string;
  color: MantineColor;
}

export interface TimeChartProps<T extends object> {
  kind: "area" | "line" | "bar";
  data: T[];
  dataKey: keyof T & string;
  series: Series[];
  /** Whether a row holds data (the others are the zero-filled days around it). */
  hasData: (row: T) => boolean;
  h?: number;
  valueFormatter?: (v: number) => string;
  withLegend?: boolean;
  /** Stacked bars (kind "bar" with enough points only: labelled bars stand side by side). */
  stacked?: boolean;
}

export function TimeChart<T extends object>({
  kind,
  data,
  dataKey,
  series,
  hasData,
  h = 220,
  valueFormatter = num,
  withLegend = series.length > 1,
  stacked = false,
}: TimeChartProps<T>) {
  const points = data.filter(hasData);
  if (points.length < FEW)
    return <LabelledBars data={points} dataKey={dataKey} series={series} h={h} valueFormatter={valueFormatter} />;
  const common = { h, data, dataKey, series, valueFormatter, withLegend, "data-chart": kind };
  if (kind === "line") return <LineChart {...common} connectNulls curveType="monotone" />;
  if (kind === "area") return <AreaChart {...common} curveType="monotone" />;
  return <BarChart {...common} type={stacked ? "stacked" : "default"} />;
}

/** Bars with their values written on them: for a handful of points. */
export function LabelledBars({
  data,
  dataKey,
  series,
  h = 220,
  valueFormatter = num,
  orientation = "horizontal",
  yAxisWidth,
}: {
  data: object[];
  dataKey: string;
  series: Series[];
  h?: number;
  valueFormatter?: (v: number) => string;
  orientation?: "horizontal" | "vertical";
  yAxisWidth?: number;
}) {
  return (
    <BarChart
      h={h}
      data={data}
      dataKey={dataKey}
      series={series}
      orientation={orientation}
      withBarValueLabel
      valueFormatter={valueFormatter}
      maxBarWidth={56}
      withLegend={series.length > 1}
      yAxisProps={yAxisWidth ? { width: yAxisWidth } : undefined}
      // Room for the labels above (or beside) the bars.
      barChartProps={{ margin: orientation === "vertical" ? { right: 64 } : { top: 22 } }}
      data-chart="labelled-bars"
    />
  );
}

/** A category axis wide enough for its longest label (within reason), in pixels. */
export function labelWidth(labels: string[], min = 80, max = 280): number {
  const longest = labels.reduce((n, l) => Math.max(n, l.length), 0);
  return Math.min(max, Math.max(min, Math.round(longest * 6.8) + 12));
}
