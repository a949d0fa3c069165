import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { setCurrentRequestId } from './request-context';

const SANE_ID = /^[A-Za-z0-9._:-]{1,128}$/;

declare global {
  namespace Express {
    interface Request {
      /** This request's id (`x-request-id`), set by the requestId middleware. */
      id: string;
    }
  }
}

export interface RequestIdOptions {
  headerName?: string;
  /** Honour an id the client sent when it is sane (1-128 of `A-Za-z0-9._:-`); defaults to true. */
  trustIncoming?: boolean;
}

/**
 * Gives every request an id, echoed in the response header: the client's when it is sane, a new
 * UUID when absent or not (a header-injection attempt or a 10 KB blob never reaches logs). Code
 * running for the request reads it with `currentRequestId()` (the AI usage records do).
 */
export function requestId({ headerName = 'x-request-id', trustIncoming = true }: RequestIdOptions = {}) {
  const lower = headerName.toLowerCase();
  return function requestIdMiddleware(req: Request, res: Response, next: NextFunction): void {
    const incoming = req.headers[lower];
    const id = trustIncoming && typeof incoming === 'string' && SANE_ID.test(incoming) ? incoming : randomUUID();
    req.id = id;
    setCurrentRequestId(id);
    res.setHeader(headerName, id);
    next();
  };
}
