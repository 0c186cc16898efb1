/** One line of a chart: its legend label, colour and optional dash pattern. */
export interface Line {
  readonly label: string;
  readonly color: string;
  readonly dash?: number[] | undefined;
  /** Drawn against the chart's second y axis, on the right (a measure of another unit). */
  readonly right?: boolean | undefined;
}

/** A horizontal reference line, such as the bicubic baseline's PSNR. */
export interface HLine {
  readonly value: number;
  readonly label: string;
  readonly color: string;
}

export const bicubicLine = (value: number | undefined): HLine | null =>
  value === undefined ? null : { value, label: `bicubic ${value.toFixed(2)} dB`, color: '#c7c7c7' };
