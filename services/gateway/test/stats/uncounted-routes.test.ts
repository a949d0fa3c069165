import type { Request } from 'express';
import { describe, expect, it } from 'vitest';
import { DASHBOARD_ROUTES } from '../../src/routes/dashboard';
import { countsInStats, isMonitoringRead, MONITORING_READS } from '../../src/stats/uncounted-routes';

function request(method: string, baseUrl: string, path: string, role?: 'user' | 'admin'): Request {
  return { method, baseUrl, path, user: role ? { id: 'someone', role } : undefined } as Request;
}

describe('routes outside the request stats', () => {
  it('leave probes, stats polls, the dashboard and monitoring reads out, and count API calls', () => {
    for (const route of ['/api/v1/health', '/api/v1/internal/stats', ...MONITORING_READS, ...DASHBOARD_ROUTES]) {
      expect(countsInStats(route), route).toBe(false);
    }
    for (const route of ['/api/v1/ai/chat', '/api/v1/ai/usage/me', '/api/v1/alerts/*rest', 'unmatched']) {
      expect(countsInStats(route), route).toBe(true);
    }
  });

  it('take a monitoring read to be an admin GET of a listed path, wherever the asker is mounted', () => {
    expect(isMonitoringRead(request('GET', '/api/v1', '/ai/usage', 'admin'))).toBe(true);
    expect(isMonitoringRead(request('GET', '', '/api/v1/alerts', 'admin'))).toBe(true);
    expect(isMonitoringRead(request('GET', '/api/v1', '/ai/usage', 'user'))).toBe(false);
    expect(isMonitoringRead(request('GET', '/api/v1', '/ai/usage'))).toBe(false);
    expect(isMonitoringRead(request('POST', '/api/v1', '/ai/usage', 'admin'))).toBe(false);
    expect(isMonitoringRead(request('GET', '/api/v1', '/ai/usage/me', 'admin'))).toBe(false);
  });
});
