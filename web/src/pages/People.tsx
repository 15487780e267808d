// Who to follow: friends of friends first, then popular accounts.
import { useQuery } from "@tanstack/react-query";
import { Link } from "react-router";
import { get, type User } from "../api";
import { UserRow } from "../components/UserRow";
import { Empty, ErrorState, Loading, useTitle } from "../components/ui";

export function Suggestions({ limit = 20 }: { limit?: number }) {
  const people = useQuery({ queryKey: ["users", "suggestions", limit], queryFn: () => get<{ items: User[] }>(`/api/users/suggestions?limit=${limit}`) });
  if (people.isPending) return <Loading label="Finding people" />;
  if (people.isError) return <ErrorState error={people.error} retry={() => people.refetch()} />;
  if (people.data.items.length === 0)
    return (
      <Empty title="No suggestions yet">
        As more people join and you follow some, suggestions appear here. Try <Link to="/search">searching by name</Link>.
      </Empty>
    );
  return (
    <ul className="card user-list">
      {people.data.items.map((u) => (
        <UserRow key={u.id} user={u} />
      ))}
    </ul>
  );
}

export default function People() {
  useTitle("Who to follow");
  return (
    <>
      <h1 className="page-title">Who to follow</h1>
      <Suggestions />
    </>
  );
}
