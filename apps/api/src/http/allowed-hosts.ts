import type { IncomingMessage, ServerResponse } from 'node:http';
import { API_PREFIX } from '../api-prefix';
import { answerRefusal } from './refusal-answer';

/** The host name of a Host header: `api.example.com:3000` → `api.example.com`, `[::1]:80` → `[::1]`. */
export function hostName(header: string): string {
  const name = header.startsWith('[')
    ? header.slice(0, header.indexOf(']') + 1)
    : header.split(':')[0];
  return name.toLowerCase();
}

const HEALTH_PATH = `/${API_PREFIX}/health`;
/** The paths answered whatever the Host (the OpenAPI document says so too). */
export const answersAnyHost = (path: string): boolean => path === HEALTH_PATH;
const isHealth = (request: IncomingMessage): boolean =>
  answersAnyHost((request.url ?? '').split('?')[0]);

/**
 * With API_ALLOWED_HOSTS, a request naming another Host is answered 421 (a page on a
 * rebound DNS name reaches the api with its own name there); one without a Host, 400.
 * Health answers whatever the Host: it says nothing. No hosts: any Host is answered.
 */
export function allowedHostsOnly(allowed: string[]) {
  const hosts = new Set(allowed.map((host) => host.toLowerCase()));
  return (request: IncomingMessage, response: ServerResponse, next: () => void): void => {
    if (hosts.size === 0 || isHealth(request)) return next();
    const header = request.headers.host;
    if (!header) {
      answerRefusal(request, response, 400, 'Bad Request', 'a Host header is required');
      return;
    }
    const name = hostName(header);
    if (!hosts.has(name)) {
      answerRefusal(
        request,
        response,
        421,
        'Misdirected Request',
        `host ${JSON.stringify(name.slice(0, 100))} is not one this api answers to (API_ALLOWED_HOSTS)`,
      );
      return;
    }
    next();
  };
}
