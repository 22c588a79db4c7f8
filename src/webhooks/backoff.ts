/**
 * Retry schedule for a failed delivery: quick at first, then spread over a day; the last attempt is
 * about 24 hours after the first. A random ±10% spreads retries of many deliveries apart.
 */
export const RETRY_DELAYS_MS = [
  10_000, 60_000, 5 * 60_000, 30 * 60_000, 2 * 3_600_000, 5 * 3_600_000, 8 * 3_600_000, 8 * 3_600_000,
];

/** Delay before attempt number `attempts + 1`, or null when the day is used up. */
export function nextDelay(attempts: number, jitter: number): number | null {
  const base = RETRY_DELAYS_MS[attempts - 1];
  if (base === undefined) return null;
  return Math.round(base * (0.9 + 0.2 * jitter));
}
