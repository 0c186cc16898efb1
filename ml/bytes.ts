const GiB = 1024 ** 3;

/** "1.2 GB", "46 MB": sizes as people read them (powers of 1024, as file managers show). */
export function formatBytes(n: number): string {
  if (n >= GiB) return `${(n / GiB).toFixed(1)} GB`;
  return `${Math.ceil(n / 1024 ** 2)} MB`;
}

/** "1.5 GB", "46 MB", "0.5 MB": memory as people read it (one decimal below 10 MB). */
export const formatMemory = (n: number): string =>
  n >= 1024 ** 3
    ? `${(n / 1024 ** 3).toFixed(1)} GB`
    : n >= 10 * 1024 ** 2
      ? `${Math.round(n / 1024 ** 2)} MB`
      : `${(n / 1024 ** 2).toFixed(1)} MB`;
