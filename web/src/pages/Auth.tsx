// Sign in and sign up: one form, two modes.
import { useState, type FormEvent } from "react";
import { Link, useLocation, useNavigate } from "react-router";
import { useQueryClient } from "@tanstack/react-query";
import { post, setToken, type User } from "../api";
import { useTitle } from "../components/ui";

export default function Auth({ mode }: { mode: "login" | "signup" }) {
  const signup = mode === "signup";
  useTitle(signup ? "Sign up" : "Sign in");
  const navigate = useNavigate();
  const location = useLocation();
  const client = useQueryClient();
  const [username, setUsername] = useState("");
  const [displayName, setDisplayName] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const body = signup ? { username, password, display_name: displayName || undefined } : { username, password };
      const { token } = await post<{ token: string; user: User }>(signup ? "/api/auth/register" : "/api/auth/login", body);
      client.clear();
      setToken(token);
      navigate((location.state as { from?: string } | null)?.from ?? (signup ? "/people" : "/"), { replace: true });
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <main className="auth" id="main">
      <div className="auth-card card">
        <div className="auth-brand">
          <img src="/favicon.svg" alt="" width={40} height={40} />
          <h1>{signup ? "Join Roost" : "Welcome back"}</h1>
          <p className="muted">{signup ? "Follow people, share posts and pictures." : "Sign in to see your home feed."}</p>
        </div>
        <form onSubmit={submit} className="form">
          <div className="field">
            <label htmlFor="username">Username</label>
            <input
              id="username"
              name="username"
              autoComplete="username"
              required
              minLength={3}
              maxLength={30}
              pattern={signup ? "[A-Za-z0-9_]+" : undefined}
              value={username}
              onChange={(e) => setUsername(e.target.value)}
            />
            {signup && <small className="muted">3 to 30 letters, digits or _</small>}
          </div>
          {signup && (
            <div className="field">
              <label htmlFor="display_name">Display name (optional)</label>
              <input id="display_name" name="display_name" maxLength={50} value={displayName} onChange={(e) => setDisplayName(e.target.value)} />
            </div>
          )}
          <div className="field">
            <label htmlFor="password">Password</label>
            <input
              id="password"
              name="password"
              type="password"
              autoComplete={signup ? "new-password" : "current-password"}
              required
              minLength={signup ? 8 : undefined}
              value={password}
              onChange={(e) => setPassword(e.target.value)}
            />
            {signup && <small className="muted">At least 8 characters</small>}
          </div>
          {error && (
            <p className="form-error" role="alert">
              {error}
            </p>
          )}
          <button type="submit" className="button button-primary button-block" disabled={busy}>
            {busy ? "Please wait…" : signup ? "Create account" : "Sign in"}
          </button>
        </form>
        <p className="auth-switch">
          {signup ? "Have an account? " : "New to Roost? "}
          <Link to={signup ? "/login" : "/signup"} state={location.state}>
            {signup ? "Sign in" : "Create an account"}
          </Link>
        </p>
        <p className="auth-switch">
          <Link to="/explore">Look around without an account</Link>
        </p>
      </div>
    </main>
  );
}
