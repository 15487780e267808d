// The HTTP contract of docs/api.md, typed: the one place that talks to the server.

export interface UserSummary {
  id: string;
  username: string;
  display_name: string;
  avatar_url?: string | null;
}
export interface User extends UserSummary {
  bio: string;
  created_at: string;
  followers_count: number;
  following_count: number;
  posts_count: number;
  followed_by_me?: boolean | null;
}
export interface Me extends User {
  unread_notifications: number;
  moderator: boolean;
}
export interface Media {
  id: string;
  url: string;
  thumbnail_url?: string | null;
  width?: number | null;
  height?: number | null;
  content_type: string;
  size: number;
}
export interface Post {
  id: string;
  author: UserSummary;
  text: string;
  created_at: string;
  like_count: number;
  comment_count: number;
  liked_by_me: boolean;
  media: Media[];
  reply_to?: string | null;
  held?: boolean;
}
export interface Comment {
  id: string;
  post_id: string;
  parent_id?: string | null;
  author: UserSummary;
  text: string;
  created_at: string;
  depth: number;
  deleted: boolean;
  held?: boolean;
}
export type NotificationKind = "follow" | "like" | "comment" | "reply" | "mention";
export interface Notification {
  id: string;
  kind: NotificationKind;
  actor: UserSummary;
  post_id?: string | null;
  comment_id?: string | null;
  created_at: string;
  read: boolean;
}
export interface Report {
  id: string;
  target_type: "post" | "comment" | "user";
  target_id: string;
  reason: string;
  status: string;
  automatic: boolean;
  created_at: string;
  reporter?: UserSummary | null;
  target?: { text?: string | null; user: UserSummary; held: boolean; suspended: boolean } | null;
}
export interface Page<T> {
  items: T[];
  next_cursor?: string | null;
}
export interface LikeState {
  liked: boolean;
  like_count: number;
}
export interface FollowState {
  following: boolean;
  followers_count: number;
}
export interface DayStats {
  date: string;
  active_users: number;
  posts: number;
  likes: number;
  follows: number;
  comments: number;
  feed_reads: number;
}
export interface Stats {
  days: DayStats[];
  monthly_active_users: number;
}
export interface RouteCost {
  route: string;
  requests: number;
  read_units: number;
  write_units: number;
  usd_per_1000_requests: number;
}
export interface JobCost {
  job: string;
  runs: number;
  read_units: number;
  write_units: number;
  usd_per_1000_runs: number;
}
export interface Cost {
  since: string;
  prices: Record<string, number>;
  routes: RouteCost[];
  background: JobCost[];
}

/** A failed request, carrying the contract's error code and sentence. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const TOKEN_KEY = "roost.token";
let token: string | null = localStorage.getItem(TOKEN_KEY);
const tokenListeners = new Set<() => void>();

export function getToken(): string | null {
  return token;
}
export function setToken(next: string | null): void {
  token = next;
  if (next) localStorage.setItem(TOKEN_KEY, next);
  else localStorage.removeItem(TOKEN_KEY);
  tokenListeners.forEach((listener) => listener());
}
/**
 * Forgets the session and starts afresh on the sign-in page: a new page load, so nothing
 * of this account stays in memory. The page is left as it is until then (telling it would
 * run its sign-in guard, which records itself as the page to come back to).
 */
export function signOutAndReload(): void {
  localStorage.removeItem(TOKEN_KEY);
  window.location.replace("/login");
}
export function onTokenChange(listener: () => void): () => void {
  tokenListeners.add(listener);
  return () => tokenListeners.delete(listener);
}

export async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = {};
  if (token) headers.Authorization = `Bearer ${token}`;
  let payload: BodyInit | undefined;
  if (body instanceof FormData) payload = body;
  else if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  const response = await fetch(path, { method, headers, body: payload });
  if (response.status === 401 && token && !path.startsWith("/api/auth/")) {
    // The session ended elsewhere (logout, password change, deletion): sign out here too.
    setToken(null);
  }
  if (!response.ok) {
    let code = "http_error";
    let message = `The server answered ${response.status}.`;
    try {
      const failure = await response.json();
      code = failure.error.code;
      message = failure.error.message;
    } catch {
      // Not the contract's error body (a proxy in between): keep the generic sentence.
    }
    throw new ApiError(response.status, code, message);
  }
  if (response.status === 204 || response.status === 202) return undefined as T;
  const text = await response.text();
  return (text ? JSON.parse(text) : undefined) as T;
}

export const get = <T>(path: string) => request<T>("GET", path);
export const post = <T>(path: string, body?: unknown) => request<T>("POST", path, body ?? {});
export const del = <T>(path: string) => request<T>("DELETE", path);
export const patch = <T>(path: string, body: unknown) => request<T>("PATCH", path, body);

/** `path` with `params` appended, skipping empty ones. */
export function withQuery(path: string, params: Record<string, string | number | null | undefined>): string {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== null && value !== undefined && value !== "") query.set(key, String(value));
  }
  const text = query.toString();
  return text ? `${path}?${text}` : path;
}

export async function uploadImage(file: File): Promise<Media> {
  const form = new FormData();
  form.append("file", file);
  return request<Media>("POST", "/api/media", form);
}
