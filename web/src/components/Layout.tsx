// The frame of every page: the navigation (a sidebar on wide screens, a tab bar on phones),
// with the live unread badge, and the page itself.
import { Suspense } from "react";
import { NavLink, Outlet } from "react-router";
import { post, signOutAndReload } from "../api";
import { closeStream } from "../live";
import { useIsModerator, useMe, useToken } from "../session";
import { Icon } from "./Icon";
import { Avatar, Loading } from "./ui";

function Item({ to, icon, label, badge, wide }: { to: string; icon: string; label: string; badge?: number; wide?: boolean }) {
  return (
    <li className={wide ? "nav-wide-only" : undefined}>
      <NavLink to={to} end={to === "/"} className="nav-link">
        <span className="nav-icon">
          <Icon name={icon} size={22} />
          {!!badge && (
            <span className="badge" aria-label={`${badge} unread`} data-testid="unread-badge">
              {badge > 99 ? "99+" : badge}
            </span>
          )}
        </span>
        <span className="nav-label">{label}</span>
      </NavLink>
    </li>
  );
}

export function Layout() {
  const token = useToken();
  const me = useMe().data;
  const moderator = useIsModerator();

  const signOut = async () => {
    closeStream();
    await post("/api/auth/logout").catch(() => undefined);
    signOutAndReload();
  };

  return (
    <div className="shell">
      <a href="#main" className="skip-link">
        Skip to content
      </a>
      <header className="topbar">
        <NavLink to={token ? "/" : "/explore"} className="brand" aria-label="Roost home">
          <img src="/favicon.svg" alt="" width={28} height={28} />
          <span>Roost</span>
        </NavLink>
        <nav aria-label="More" className="topbar-links">
          {token ? (
            <>
              <NavLink to="/people" className="icon-link" aria-label="Who to follow">
                <Icon name="people" />
              </NavLink>
              {moderator && (
                <NavLink to="/moderation" className="icon-link" aria-label="Reports">
                  <Icon name="shield" />
                </NavLink>
              )}
              {moderator && (
                <NavLink to="/operations" className="icon-link" aria-label="Operations">
                  <Icon name="chart" />
                </NavLink>
              )}
              <NavLink to="/settings" className="icon-link" aria-label="Settings">
                <Icon name="settings" />
              </NavLink>
            </>
          ) : (
            <NavLink to="/login" className="button">
              Sign in
            </NavLink>
          )}
        </nav>
      </header>
      <nav className="nav" aria-label="Main">
        <NavLink to={token ? "/" : "/explore"} className="brand" aria-label="Roost home">
          <img src="/favicon.svg" alt="" width={32} height={32} />
          <span>Roost</span>
        </NavLink>
        <ul className="nav-list">
          {token && <Item to="/" icon="home" label="Home" />}
          <Item to="/explore" icon="explore" label="Explore" />
          <Item to="/search" icon="search" label="Search" />
          {token && <Item to="/notifications" icon="bell" label="Notifications" badge={me?.unread_notifications} />}
          {token && <Item to="/people" icon="people" label="Who to follow" wide />}
          {me && <Item to={`/u/${me.username}`} icon="user" label="Profile" />}
          {token && <Item to="/settings" icon="settings" label="Settings" wide />}
          {moderator && <Item to="/moderation" icon="shield" label="Reports" wide />}
          {moderator && <Item to="/operations" icon="chart" label="Operations" wide />}
        </ul>
        <div className="nav-foot">
          {me ? (
            <div className="nav-me">
              <Avatar user={me} size={32} />
              <span className="nav-me-name">
                <strong>{me.display_name}</strong>
                <span className="muted">@{me.username}</span>
              </span>
              <button type="button" className="button button-quiet" onClick={signOut}>
                Sign out
              </button>
            </div>
          ) : (
            !token && (
              <div className="nav-auth">
                <NavLink to="/login" className="button">
                  Sign in
                </NavLink>
                <NavLink to="/signup" className="button button-primary">
                  Sign up
                </NavLink>
              </div>
            )
          )}
        </div>
      </nav>
      <main id="main" className="main" tabIndex={-1}>
        <Suspense fallback={<Loading />}>
          <Outlet />
        </Suspense>
      </main>
    </div>
  );
}
