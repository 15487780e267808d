// Settings: profile and avatar, password, a copy of one's data, and deleting the account.
import { useEffect, useState, type FormEvent, type ReactNode } from "react";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { get, patch, post, request, signOutAndReload, uploadImage, type User } from "../api";
import { Avatar, Loading, useTitle } from "../components/ui";
import { closeStream } from "../live";
import { useMe } from "../session";

function Section({ title, id, children }: { title: string; id: string; children: ReactNode }) {
  return (
    <section className="card settings-section" aria-labelledby={id}>
      <h2 id={id} className="section-title">
        {title}
      </h2>
      {children}
    </section>
  );
}

function Result({ mutation, done }: { mutation: { isError: boolean; isSuccess: boolean; error: unknown }; done: string }) {
  if (mutation.isError)
    return (
      <p className="form-error" role="alert">
        {(mutation.error as Error).message}
      </p>
    );
  if (mutation.isSuccess)
    return (
      <p className="notice" role="status">
        {done}
      </p>
    );
  return null;
}

function ProfileForm({ me }: { me: User }) {
  const client = useQueryClient();
  const [name, setName] = useState(me.display_name);
  const [bio, setBio] = useState(me.bio);
  const [avatar, setAvatar] = useState<File | null>(null);
  const [preview, setPreview] = useState<string | null>(null);
  useEffect(() => {
    if (!avatar) return setPreview(null);
    const url = URL.createObjectURL(avatar);
    setPreview(url);
    return () => URL.revokeObjectURL(url);
  }, [avatar]);
  const save = useMutation({
    mutationFn: async () => {
      const avatar_media_id = avatar ? (await uploadImage(avatar)).id : undefined;
      return patch<User>("/api/me", { display_name: name, bio, avatar_media_id });
    },
    onSuccess: () => {
      setAvatar(null);
      client.invalidateQueries({ queryKey: ["me"] });
      client.invalidateQueries({ queryKey: ["user", me.username] });
    },
  });
  return (
    <form
      className="form"
      onSubmit={(e) => {
        e.preventDefault();
        save.mutate();
      }}
    >
      <div className="avatar-field">
        {preview ? <img className="avatar" src={preview} alt="Preview of the new avatar" width={72} height={72} /> : <Avatar user={me} size={72} />}
        <label className="button file-button">
          Choose a picture
          <input type="file" accept="image/jpeg,image/png,image/gif,image/webp" className="visually-hidden" onChange={(e) => setAvatar(e.target.files?.[0] ?? null)} />
        </label>
      </div>
      <div className="field">
        <label htmlFor="settings-name">Display name</label>
        <input id="settings-name" required maxLength={50} value={name} onChange={(e) => setName(e.target.value)} />
      </div>
      <div className="field">
        <label htmlFor="settings-bio">Bio</label>
        <textarea id="settings-bio" rows={3} maxLength={300} value={bio} onChange={(e) => setBio(e.target.value)} />
      </div>
      <Result mutation={save} done="Profile saved." />
      <button type="submit" className="button button-primary" disabled={save.isPending}>
        {save.isPending ? "Saving…" : "Save profile"}
      </button>
    </form>
  );
}

function PasswordForm() {
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const change = useMutation({
    mutationFn: () => post("/api/me/password", { current, new: next }),
    onSuccess: () => {
      setCurrent("");
      setNext("");
    },
  });
  return (
    <form
      className="form"
      onSubmit={(e: FormEvent) => {
        e.preventDefault();
        change.mutate();
      }}
    >
      <div className="field">
        <label htmlFor="password-current">Current password</label>
        <input id="password-current" type="password" autoComplete="current-password" required value={current} onChange={(e) => setCurrent(e.target.value)} />
      </div>
      <div className="field">
        <label htmlFor="password-new">New password</label>
        <input id="password-new" type="password" autoComplete="new-password" required minLength={8} value={next} onChange={(e) => setNext(e.target.value)} />
      </div>
      <Result mutation={change} done="Password changed. Your other sessions were signed out." />
      <button type="submit" className="button" disabled={change.isPending}>
        Change password
      </button>
    </form>
  );
}

function Export({ username }: { username: string }) {
  const exportData = useMutation({
    mutationFn: async () => {
      const archive = await get<unknown>("/api/me/export");
      const url = URL.createObjectURL(new Blob([JSON.stringify(archive, null, 2)], { type: "application/json" }));
      const link = document.createElement("a");
      link.href = url;
      link.download = `roost-${username}.json`;
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 1000);
    },
  });
  return (
    <>
      <p className="muted">Everything you made — profile, posts, comments, likes, follows, notifications — as one JSON file.</p>
      <Result mutation={exportData} done="Your data was downloaded." />
      <button type="button" className="button" onClick={() => exportData.mutate()} disabled={exportData.isPending}>
        {exportData.isPending ? "Preparing…" : "Download my data"}
      </button>
    </>
  );
}

function DeleteAccount({ username }: { username: string }) {
  const [confirmText, setConfirmText] = useState("");
  const remove = useMutation({
    mutationFn: () => {
      closeStream();
      return request("DELETE", "/api/me");
    },
    onSuccess: () => {
      signOutAndReload();
    },
  });
  return (
    <form
      className="form"
      onSubmit={(e) => {
        e.preventDefault();
        remove.mutate();
      }}
    >
      <p className="muted">This closes your account at once and then erases everything you made. It cannot be undone.</p>
      <div className="field">
        <label htmlFor="delete-confirm">Type your username ({username}) to confirm</label>
        <input id="delete-confirm" autoComplete="off" value={confirmText} onChange={(e) => setConfirmText(e.target.value)} />
      </div>
      <Result mutation={remove} done="Your account is deleted." />
      <button type="submit" className="button button-danger" disabled={confirmText !== username || remove.isPending}>
        Delete my account
      </button>
    </form>
  );
}

export default function Settings() {
  useTitle("Settings");
  const me = useMe();
  if (!me.data) return <Loading />;
  return (
    <>
      <h1 className="page-title">Settings</h1>
      <Section title="Profile" id="settings-profile">
        <ProfileForm me={me.data} />
      </Section>
      <Section title="Password" id="settings-password">
        <PasswordForm />
      </Section>
      <Section title="Your data" id="settings-export">
        <Export username={me.data.username} />
      </Section>
      <Section title="Delete account" id="settings-delete">
        <DeleteAccount username={me.data.username} />
      </Section>
    </>
  );
}
