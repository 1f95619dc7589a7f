// What a node offers and what a task asks for, shared by the scheduler (placement) and the
// executor (admission), which must agree on what fits.

export interface Resources {
  cpus: number
  memoryMb: number
}

/**
 * Slack for fractional cpus: 0.1 + 0.2 > 0.3 in binary floating point, and a task that exactly
 * fills a node must still fit. Far below any request a user can express.
 */
export const CAPACITY_EPSILON = 1e-9

/** `need` fits in `free`, up to float rounding. */
export function fits(need: number, free: number): boolean {
  return need <= free + CAPACITY_EPSILON
}
