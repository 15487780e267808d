// A user in a list (followers, search, who to follow), with a follow button.
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { Link } from "react-router";
import { del, post as send, type FollowState, type User } from "../api";
import { useMe } from "../session";
import { Avatar } from "./ui";

export function FollowButton({ user }: { user: User }) {
  const client = useQueryClient();
  const me = useMe().data;
  const follow = useMutation({
    mutationFn: (on: boolean) =>
      on ? send<FollowState>(`/api/users/${user.username}/follow`) : del<FollowState>(`/api/users/${user.username}/follow`),
    onSuccess: () => {
      client.invalidateQueries({ queryKey: ["user"] });
      client.invalidateQueries({ queryKey: ["users"] });
      client.invalidateQueries({ queryKey: ["posts", "feed"] });
      client.invalidateQueries({ queryKey: ["me"] });
    },
  });
  if (!me || me.id === user.id) return null;
  const following = follow.isPending ? follow.variables : !!user.followed_by_me;
  return (
    <button
      type="button"
      className={following ? "button" : "button button-primary"}
      aria-pressed={following}
      onClick={() => follow.mutate(!following)}
      disabled={follow.isPending}
    >
      {following ? "Following" : "Follow"}
      <span className="visually-hidden"> {user.display_name}</span>
    </button>
  );
}

export function UserRow({ user }: { user: User }) {
  return (
    <li className="user-row">
      <Avatar user={user} size={44} />
      <div className="user-row-text">
        <Link to={`/u/${user.username}`} className="user-name">
          <strong>{user.display_name}</strong> <span className="muted">@{user.username}</span>
        </Link>
        {user.bio && <p className="muted clamp">{user.bio}</p>}
      </div>
      <FollowButton user={user} />
    </li>
  );
}
