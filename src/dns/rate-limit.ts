/** A token bucket per asker: forwarded queries spend upstreams' work, so each asker gets its share. */
export class RateLimit {
  private readonly buckets = new Map<number, { tokens: number; at: number }>();

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
  ) {}

  /** Whether the asker may have one more now (and counts it). */
  take(asker: number, now = Date.now()): boolean {
    let bucket = this.buckets.get(asker);
    if (!bucket) {
      // Full buckets are forgotten rather than kept for every asker ever seen.
      if (this.buckets.size >= 10_000) this.forgetFull(now);
      this.buckets.set(asker, (bucket = { tokens: this.burst, at: now }));
    }
    bucket.tokens = Math.min(this.burst, bucket.tokens + ((now - bucket.at) * this.perSecond) / 1000);
    bucket.at = now;
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  private forgetFull(now: number): void {
    for (const [asker, bucket] of this.buckets) {
      if (bucket.tokens + ((now - bucket.at) * this.perSecond) / 1000 >= this.burst) this.buckets.delete(asker);
    }
  }
}
