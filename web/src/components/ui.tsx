// Small shared pieces: page titles, avatars, times, and the loading / error / empty states.
import { useEffect, useRef, type ReactNode } from "react";
import { Link } from "react-router";
import type { UserSummary } from "../api";

/** Sets document.title for the page. */
export function useTitle(title: string): void {
  useEffect(() => {
    document.title = title ? `${title} · Roost` : "Roost";
  }, [title]);
}

export function Avatar({ user, size = 40 }: { user: UserSummary; size?: number }) {
  if (user.avatar_url) {
    return (
      <img className="avatar" src={user.avatar_url} alt={`${user.display_name}'s avatar`} width={size} height={size} loading="lazy" />
    );
  }
  // A coloured initial, stable per user, in place of a picture.
  const hue = [...user.id].reduce((sum, c) => sum + c.charCodeAt(0), 0) % 360;
  return (
    <span
      className="avatar avatar-initial"
      role="img"
      aria-label={`${user.display_name}'s avatar`}
      style={{ width: size, height: size, fontSize: Math.round(size * 0.42), background: `hsl(${hue} 55% 42%)` }}
    >
      {(user.display_name || user.username).slice(0, 1).toUpperCase()}
    </span>
  );
}

export function UserName({ user }: { user: UserSummary }) {
  return (
    <Link to={`/u/${user.username}`} className="user-name">
      <strong>{user.display_name}</strong> <span className="muted">@{user.username}</span>
    </Link>
  );
}

const units: [Intl.RelativeTimeFormatUnit, number][] = [
  ["year", 31536000],
  ["month", 2592000],
  ["day", 86400],
  ["hour", 3600],
  ["minute", 60],
];
const relative = new Intl.RelativeTimeFormat("en", { numeric: "auto", style: "short" });

export function TimeAgo({ at }: { at: string }) {
  const seconds = (new Date(at).getTime() - Date.now()) / 1000;
  const [unit, size] = units.find(([, size]) => Math.abs(seconds) >= size) ?? ["second", 1];
  const text = Math.abs(seconds) < 45 ? "just now" : relative.format(Math.round(seconds / size), unit);
  return (
    <time dateTime={at} title={new Date(at).toLocaleString()} className="muted">
      {text}
    </time>
  );
}

export function Loading({ label = "Loading" }: { label?: string }) {
  return (
    <div className="state" role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" />
      <span>{label}…</span>
    </div>
  );
}

export function ErrorState({ error, retry }: { error: unknown; retry?: () => void }) {
  const message = error instanceof Error ? error.message : "Something went wrong.";
  return (
    <div className="state state-error" role="alert">
      <p>{message}</p>
      {retry && (
        <button type="button" className="button" onClick={retry}>
          Try again
        </button>
      )}
    </div>
  );
}

export function Empty({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="state state-empty">
      <p className="state-title">{title}</p>
      {children && <div className="muted">{children}</div>}
    </div>
  );
}

/** Calls `onVisible` when the end of a list scrolls into view (infinite scroll). */
export function LoadMore({ onVisible, busy, more }: { onVisible: () => void; busy: boolean; more: boolean }) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const node = ref.current;
    if (!node || !more) return;
    const observer = new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting) && !busy) onVisible();
    }, { rootMargin: "400px" });
    observer.observe(node);
    return () => observer.disconnect();
  }, [onVisible, busy, more]);
  if (!more) return null;
  return (
    <div ref={ref} className="load-more">
      <button type="button" className="button button-quiet" onClick={onVisible} disabled={busy}>
        {busy ? "Loading…" : "Load more"}
      </button>
    </div>
  );
}
