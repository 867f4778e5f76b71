import crypto from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { UnauthorizedError } from './http-errors.js';

/**
 * Who may read, submit and cancel. Reads are open on loopback and need the credential beyond it
 * (unless the dashboard is told to serve them openly); mutating endpoints need, when a token is
 * configured, either `Authorization: Bearer <token>` (scripts, curl) or the session cookie the
 * dashboard sets when a page is opened with `?token=<token>` (the browser; the URL that
 * `kubemr run --dashboard` prints carries it, as Jupyter's does). The cookie holds an HMAC of
 * the token, never the token; it is HttpOnly and SameSite=Strict, and cookie-authenticated
 * requests must also come from the dashboard's own origin, so another site cannot ride on it.
 */
export const SESSION_COOKIE = 'kubemr_session';

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && crypto.timingSafeEqual(x, y);
}

export function cookies(req: Request): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i < 0) continue;
    const k = part.slice(0, i).trim();
    try {
      out[k] = decodeURIComponent(part.slice(i + 1).trim());
    } catch {
      // a malformed cookie is no cookie
    }
  }
  return out;
}

export class Auth {
  private readonly session: string;

  constructor(
    private readonly token: string | undefined,
    /** Reads need no credential: a dashboard served on loopback, or told so (`--public-reads`). */
    readonly readsOpen = true,
  ) {
    this.session = token ? crypto.createHmac('sha256', token).update('kubemr-dashboard-session-v1').digest('hex') : '';
  }

  get required(): boolean {
    return Boolean(this.token);
  }

  tokenOk(candidate: string): boolean {
    return Boolean(this.token) && same(candidate, this.token!);
  }

  private bearer(req: Request): string | undefined {
    const h = req.headers.authorization;
    return h?.startsWith('Bearer ') ? h.slice(7).trim() : undefined;
  }

  private hasSession(req: Request): boolean {
    const c = cookies(req)[SESSION_COOKIE];
    return c !== undefined && same(c, this.session);
  }

  /** Whether this request may mutate: what the pages use to show the form or a sign-in field. */
  signedIn(req: Request): boolean {
    if (!this.required) return true;
    const b = this.bearer(req);
    return b !== undefined ? this.tokenOk(b) : this.hasSession(req);
  }

  setSession(res: Response): void {
    res.cookie(SESSION_COOKIE, this.session, { httpOnly: true, sameSite: 'strict', path: '/' });
  }

  /** GET a page with ?token=...: a valid token becomes a session cookie and leaves the URL. */
  login() {
    return (req: Request, res: Response, next: NextFunction): void => {
      const t = req.query.token;
      if (req.method !== 'GET' || typeof t !== 'string' || !this.required) {
        next();
        return;
      }
      if (this.tokenOk(t)) this.setSession(res);
      const url = new URL(req.originalUrl, 'http://x');
      url.searchParams.delete('token');
      res.redirect(303, url.pathname + url.search);
    };
  }

  /**
   * Guards reads (pages, GETs under /api, event streams) when they are not open: the bearer
   * token or the session cookie (SameSite=Strict, so another site's page cannot send it).
   */
  requireRead() {
    return (req: Request, _res: Response, next: NextFunction): void => {
      if (this.readsOpen || !this.required) return next();
      const b = this.bearer(req);
      if (b !== undefined) return this.tokenOk(b) ? next() : next(new UnauthorizedError('The bearer token is not valid for this dashboard'));
      if (this.hasSession(req)) return next();
      next(new UnauthorizedError('This dashboard is served beyond loopback: reading it needs `Authorization: Bearer <token>` or a session opened with ?token=<token>'));
    };
  }

  /** Guards submit and cancel. */
  require() {
    return (req: Request, _res: Response, next: NextFunction): void => {
      if (!this.required) return next();
      const b = this.bearer(req);
      if (b !== undefined) {
        if (this.tokenOk(b)) return next();
        return next(new UnauthorizedError('The bearer token is not valid for this dashboard'));
      }
      if (this.hasSession(req)) {
        const origin = req.headers.origin;
        if (origin !== undefined && origin !== `${req.protocol}://${req.headers.host}`) {
          return next(new UnauthorizedError(`Requests from origin \`${origin}\` may not use the dashboard session`));
        }
        return next();
      }
      next(new UnauthorizedError('This endpoint needs `Authorization: Bearer <token>` (the token is in <data>/token in local mode), or a dashboard session opened with ?token=<token>'));
    };
  }
}
