// The JSON API client: one place that talks to /api/v1 and turns every failure into an ApiError.
// Every call asks for the app's language (Accept-Language), so foods, books and categories
// come back in it; the app re-renders, and so re-fetches, when the language changes.

import { getLang } from './i18n.js';

const FALLBACK_CODES = {
  400: 'validation_failed',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'not_found',
  409: 'conflict',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  422: 'validation_failed',
  429: 'rate_limited',
  503: 'unavailable',
};

/** An API failure: `status` is 0 for a network failure; `code` is the problem's stable code. */
export class ApiError extends Error {
  constructor(status, problem = {}, retryAfter = null) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.name = 'ApiError';
    this.status = status;
    this.code = problem.code || FALLBACK_CODES[status] || (status === 0 ? 'network' : 'server');
    this.detail = problem.detail || null;
    this.errors = Array.isArray(problem.errors) ? problem.errors : [];
    this.retryAfter = retryAfter ? Number.parseInt(retryAfter, 10) || null : null;
  }
}

/**
 * Calls the API. `body` is sent as JSON, or as-is when it is FormData.
 * Resolves to the parsed JSON (null for 204); rejects with ApiError.
 */
export async function api(method, path, body, headers = {}) {
  const options = {
    method,
    credentials: 'same-origin',
    headers: { Accept: 'application/json, application/problem+json', 'Accept-Language': getLang(), ...headers },
  };
  if (body instanceof FormData) {
    options.body = body;
  } else if (body !== undefined) {
    options.headers['Content-Type'] = 'application/json';
    options.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(`/api/v1${path}`, options);
  } catch {
    throw new ApiError(0, { code: 'network' });
  }
  let data = null;
  if (response.status !== 204) {
    const type = response.headers.get('content-type') || '';
    try {
      data = type.includes('json') ? await response.json() : null;
      if (!type.includes('json')) await response.text();
    } catch {
      data = null;
    }
  }
  if (!response.ok) {
    throw new ApiError(response.status, data && typeof data === 'object' ? data : {}, response.headers.get('Retry-After'));
  }
  return data;
}

export const get = (path, headers) => api('GET', path, undefined, headers);
export const post = (path, body, headers) => api('POST', path, body ?? {}, headers);
export const put = (path, body) => api('PUT', path, body);
export const patch = (path, body) => api('PATCH', path, body);
export const del = (path, headers) => api('DELETE', path, undefined, headers);

/** Builds a query string, skipping empty values. */
export function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== '') search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}
