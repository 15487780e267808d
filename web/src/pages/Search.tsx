// Search: people as you type (an autocomplete list), and posts on submit.
import { useEffect, useId, useState, type FormEvent, type KeyboardEvent } from "react";
import { useQuery } from "@tanstack/react-query";
import { useNavigate, useSearchParams } from "react-router";
import { get, withQuery, type User } from "../api";
import { PostList, usePostPages } from "../components/PostList";
import { UserRow } from "../components/UserRow";
import { Avatar, Empty, useTitle } from "../components/ui";

function useDebounced<T>(value: T, ms: number): T {
  const [debounced, setDebounced] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setDebounced(value), ms);
    return () => clearTimeout(timer);
  }, [value, ms]);
  return debounced;
}

function PostResults({ q }: { q: string }) {
  const results = usePostPages(["search", q], "/api/search/posts", { q });
  return <PostList query={results} empty={<Empty title={`No posts match “${q}”`}>Try fewer or different words.</Empty>} />;
}

function PeopleResults({ q }: { q: string }) {
  const people = useQuery({ queryKey: ["users", "search", q], queryFn: () => get<{ items: User[] }>(withQuery("/api/users/search", { q, limit: 20 })) });
  if (!people.data) return null;
  if (people.data.items.length === 0) return null;
  return (
    <section aria-labelledby="people-heading">
      <h2 id="people-heading" className="section-title">People</h2>
      <ul className="card user-list">
        {people.data.items.slice(0, 5).map((u) => (
          <UserRow key={u.id} user={u} />
        ))}
      </ul>
    </section>
  );
}

export default function Search() {
  const id = useId();
  const navigate = useNavigate();
  const [params, setParams] = useSearchParams();
  const q = params.get("q") ?? "";
  useTitle(q ? `Search: ${q}` : "Search");
  const [text, setText] = useState(q);
  const [open, setOpen] = useState(false);
  const [active, setActive] = useState(-1);
  const prefix = useDebounced(text.trim().replace(/^@/, ""), 150);

  const suggestions = useQuery({
    queryKey: ["users", "search", prefix, "suggest"],
    queryFn: () => get<{ items: User[] }>(withQuery("/api/users/search", { q: prefix, limit: 6 })),
    enabled: prefix.length > 0,
  });
  const items = prefix && suggestions.data ? suggestions.data.items : [];
  const listOpen = open && items.length > 0;

  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (listOpen && active >= 0) return navigate(`/u/${items[active].username}`);
    setOpen(false);
    setParams(text.trim() ? { q: text.trim() } : {});
  };
  const onKey = (event: KeyboardEvent) => {
    if (!listOpen) return;
    if (event.key === "ArrowDown") setActive((a) => Math.min(a + 1, items.length - 1));
    else if (event.key === "ArrowUp") setActive((a) => Math.max(a - 1, -1));
    else if (event.key === "Escape") setOpen(false);
    else return;
    event.preventDefault();
  };

  return (
    <>
      <h1 className="page-title">Search</h1>
      <form role="search" className="search-form" onSubmit={submit}>
        <label htmlFor={`${id}-q`} className="visually-hidden">
          Search people and posts
        </label>
        <div className="combo">
          <input
            id={`${id}-q`}
            type="search"
            role="combobox"
            aria-expanded={listOpen}
            aria-controls={`${id}-list`}
            aria-autocomplete="list"
            aria-activedescendant={listOpen && active >= 0 ? `${id}-opt-${active}` : undefined}
            autoComplete="off"
            placeholder="Search people and posts"
            value={text}
            onChange={(e) => {
              setText(e.target.value);
              setOpen(true);
              setActive(-1);
            }}
            onKeyDown={onKey}
            onBlur={() => setTimeout(() => setOpen(false), 150)}
          />
          {listOpen && (
            <ul id={`${id}-list`} role="listbox" className="combo-list" aria-label="People">
              {items.map((u, i) => (
                <li
                  key={u.id}
                  id={`${id}-opt-${i}`}
                  role="option"
                  aria-selected={i === active}
                  className={i === active ? "combo-option active" : "combo-option"}
                  onMouseDown={(e) => {
                    e.preventDefault();
                    navigate(`/u/${u.username}`);
                  }}
                >
                  <Avatar user={u} size={28} />
                  <span>
                    <strong>{u.display_name}</strong> <span className="muted">@{u.username}</span>
                  </span>
                </li>
              ))}
            </ul>
          )}
        </div>
        <button type="submit" className="button button-primary">
          Search
        </button>
      </form>
      {q ? (
        <>
          <PeopleResults q={q} />
          <h2 className="section-title">Posts</h2>
          <PostResults q={q} />
        </>
      ) : (
        <Empty title="Find people and posts">Type a name to jump to a profile, or words to search every post.</Empty>
      )}
    </>
  );
}
