import type { Request, Response } from 'express';

/**
 * Caps the responses that stay open (event streams, followed logs): so many per client address
 * and so many in all. One more from a client at its cap is 429, one more beyond the total 503,
 * both with Retry-After and a message naming the cap.
 */
export class StreamLimits {
  private open = 0;
  private readonly byClient = new Map<string, number>();

  constructor(
    readonly total: number,
    readonly perClient: number,
  ) {}

  /** Takes a place for `res` until it closes; false (the refusal already sent) when there is none. */
  acquire(req: Request, res: Response): boolean {
    const client = req.socket.remoteAddress ?? '';
    const mine = this.byClient.get(client) ?? 0;
    const refuse = (status: number, message: string) => {
      res.status(status).set('Retry-After', '10').json({ error: { code: 'RESOURCE_EXHAUSTED', status, message } });
      return false;
    };
    if (mine >= this.perClient) return refuse(429, `This client already has ${mine} open streams, the most the dashboard allows one client (maxStreamsPerClient ${this.perClient})`);
    if (this.open >= this.total) return refuse(503, `The dashboard already serves ${this.open} open streams, the most it allows (maxStreams ${this.total})`);
    this.open++;
    this.byClient.set(client, mine + 1);
    res.once('close', () => {
      this.open--;
      const n = (this.byClient.get(client) ?? 1) - 1;
      if (n > 0) this.byClient.set(client, n);
      else this.byClient.delete(client);
    });
    return true;
  }
}

/** What an event stream may hold unsent for a client that does not read before it is dropped (the browser reconnects). */
export const MAX_UNSENT_BYTES = 1024 * 1024;
