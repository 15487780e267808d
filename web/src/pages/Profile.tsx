// A profile: who they are, follow / unfollow, and their posts, followers or following.
import { useInfiniteQuery, useQuery } from "@tanstack/react-query";
import { Link, useParams } from "react-router";
import { ApiError, get, withQuery, type Page, type User } from "../api";
import { PostList, usePostPages } from "../components/PostList";
import { Tabs } from "../components/Tabs";
import { FollowButton, UserRow } from "../components/UserRow";
import { flatten } from "../posts";
import { Avatar, Empty, ErrorState, Loading, LoadMore, useTitle } from "../components/ui";

type Tab = "posts" | "followers" | "following";

function People({ username, which }: { username: string; which: "followers" | "following" }) {
  const list = useInfiniteQuery({
    queryKey: ["users", which, username],
    queryFn: ({ pageParam }) => get<Page<User>>(withQuery(`/api/users/${username}/${which}`, { cursor: pageParam })),
    initialPageParam: null as string | null,
    getNextPageParam: (last) => last.next_cursor ?? null,
  });
  if (list.isPending) return <Loading />;
  if (list.isError) return <ErrorState error={list.error} retry={() => list.refetch()} />;
  const people = flatten(list.data);
  if (people.length === 0)
    return <Empty title={which === "followers" ? "No followers yet" : "Not following anyone yet"} />;
  return (
    <>
      <ul className="card user-list">
        {people.map((u) => (
          <UserRow key={u.id} user={u} />
        ))}
      </ul>
      <LoadMore onVisible={() => list.fetchNextPage()} busy={list.isFetchingNextPage} more={!!list.hasNextPage} />
    </>
  );
}

function Posts({ username }: { username: string }) {
  const posts = usePostPages(["user", username], `/api/users/${username}/posts`);
  return <PostList query={posts} empty={<Empty title="No posts yet" />} />;
}

export default function Profile({ tab }: { tab: Tab }) {
  const { username = "" } = useParams();
  const user = useQuery({ queryKey: ["user", username], queryFn: () => get<User>(`/api/users/${username}`) });
  const name = user.data?.display_name ?? username;
  useTitle(tab === "posts" ? `${name} (@${username})` : `${tab === "followers" ? "Followers of" : "Followed by"} ${name}`);

  if (user.isPending) return <Loading label="Loading the profile" />;
  if (user.isError)
    return user.error instanceof ApiError && user.error.status === 404 ? (
      <>
        <h1 className="page-title">No such user</h1>
        <Empty title={`Nobody is called @${username}`}>
          <Link to="/search">Search for people</Link>
        </Empty>
      </>
    ) : (
      <ErrorState error={user.error} retry={() => user.refetch()} />
    );
  const u = user.data;
  return (
    <>
      <section className="card profile">
        <Avatar user={u} size={88} />
        <div className="profile-main">
          <div className="profile-head">
            <div>
              <h1 className="profile-name">{u.display_name}</h1>
              <p className="muted">@{u.username}</p>
            </div>
            <FollowButton user={u} />
          </div>
          {u.bio && <p className="profile-bio">{u.bio}</p>}
          <p className="profile-stats">
            <span>
              <strong>{u.posts_count}</strong> {u.posts_count === 1 ? "post" : "posts"}
            </span>
            <Link to={`/u/${u.username}/followers`}>
              <strong>{u.followers_count}</strong> {u.followers_count === 1 ? "follower" : "followers"}
            </Link>
            <Link to={`/u/${u.username}/following`}>
              <strong>{u.following_count}</strong> following
            </Link>
          </p>
        </div>
      </section>
      <Tabs
        label="Profile"
        current={tab}
        tabs={[
          { id: "posts", label: "Posts", to: `/u/${u.username}` },
          { id: "followers", label: "Followers", to: `/u/${u.username}/followers` },
          { id: "following", label: "Following", to: `/u/${u.username}/following` },
        ]}
      />
      {tab === "posts" ? <Posts username={u.username} /> : <People username={u.username} which={tab} />}
    </>
  );
}
