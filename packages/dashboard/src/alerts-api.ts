import type { TallyApi } from './api.ts';

/** An alert as `GET /v1/alerts` lists it. */
export interface AlertItem {
  id: string;
  rule: string;
  kind: string;
  subject: string;
  tenant: string;
  state: 'firing' | 'resolved' | 'event';
  summary: string;
  details: Record<string, unknown>;
  firedAt: string;
  updatedAt: string;
  resolvedAt: string | null;
  lastNotifiedAt: string | null;
  notifications: number;
  acknowledgedAt: string | null;
  silencedUntil: string | null;
}

/** A rule as `GET /v1/alerts/rules` lists it. */
export interface AlertRule {
  id: string;
  name?: string;
  kind: string;
  scope: { tenant?: string; plan?: string };
  meter?: string;
  thresholds?: string[];
  channels: string[];
  enabled: boolean;
  source: 'config' | 'api';
}

/** One message of the outbox. */
export interface Delivery {
  id: string;
  endpoint: string;
  tenant: string;
  type: string;
  state: 'pending' | 'delivered' | 'dead';
  attempts: number;
  createdAt: string;
  nextAttemptAt: string;
  deliveredAt: string | null;
  lastError: string | null;
}

/** One attempt of the delivery log. */
export interface DeliveryAttempt {
  id: string;
  message: string;
  endpoint: string;
  attempt: number;
  at: string;
  status: number | null;
  latencyMs: number;
  ok: boolean;
  error: string | null;
}

/** The alerts API as the dashboard reads it (GETs through the shared client). */
export class AlertsApi {
  constructor(private readonly api: TallyApi) {}

  private async json<T>(path: string): Promise<T> {
    return JSON.parse(await (await this.api.blob(path, 'application/json')).text()) as T;
  }

  alerts(q: { state?: string; tenant?: string; limit?: number } = {}): Promise<AlertItem[]> {
    const p = new URLSearchParams(Object.entries(q).filter(([, v]) => v !== undefined).map(([k, v]) => [k, String(v)]));
    return this.json<{ data: AlertItem[] }>(`/v1/alerts?${p}`).then((r) => r.data);
  }

  rules(): Promise<AlertRule[]> {
    return this.json<{ data: AlertRule[] }>('/v1/alerts/rules').then((r) => r.data);
  }

  deliveries(state?: string): Promise<Delivery[]> {
    return this.json<{ data: Delivery[] }>(`/v1/alerts/deliveries?limit=50${state ? `&state=${state}` : ''}`).then((r) => r.data);
  }

  attempts(): Promise<DeliveryAttempt[]> {
    return this.json<{ data: DeliveryAttempt[] }>('/v1/alerts/attempts?limit=50').then((r) => r.data);
  }
}
