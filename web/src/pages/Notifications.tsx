// Notifications, newest first; opening the page marks them read (the badge clears).
import { useEffect } from "react";
import { useInfiniteQuery, useMutation, useQueryClient } from "@tanstack/react-query";
import { Link } from "react-router";
import { get, post, withQuery, type Me, type Notification, type Page } from "../api";
import { flatten } from "../posts";
import { Avatar, Empty, ErrorState, Loading, LoadMore, TimeAgo, useTitle } from "../components/ui";
import { useToken } from "../session";

const verbs: Record<string, string> = {
  follow: "followed you",
  like: "liked your post",
  comment: "commented on your post",
  reply: "replied to your comment",
  mention: "mentioned you",
};

function Item({ n }: { n: Notification }) {
  const target = n.post_id ? `/p/${n.post_id}` : `/u/${n.actor.username}`;
  return (
    <li className={n.read ? "notification" : "notification unread"}>
      <Avatar user={n.actor} size={40} />
      <p>
        <Link to={`/u/${n.actor.username}`}>
          <strong>{n.actor.display_name}</strong>
        </Link>{" "}
        <Link to={target}>{verbs[n.kind] ?? n.kind}</Link>
        <br />
        <TimeAgo at={n.created_at} />
      </p>
      {!n.read && <span className="dot" aria-label="unread" />}
    </li>
  );
}

export default function Notifications() {
  useTitle("Notifications");
  const token = useToken();
  const client = useQueryClient();
  const list = useInfiniteQuery({
    queryKey: ["notifications"],
    queryFn: ({ pageParam }) => get<Page<Notification>>(withQuery("/api/notifications", { cursor: pageParam })),
    initialPageParam: null as string | null,
    getNextPageParam: (last) => last.next_cursor ?? null,
  });
  const newest = list.data?.pages[0]?.items[0];
  const markRead = useMutation({
    mutationFn: (id: string) => post("/api/notifications/read", { up_to_id: id }),
    onSuccess: () => client.setQueryData<Me>(["me", token], (me) => (me ? { ...me, unread_notifications: 0 } : me)),
  });
  const { mutate } = markRead;
  useEffect(() => {
    if (newest && !newest.read) mutate(newest.id);
  }, [newest, mutate]);

  let body;
  if (list.isPending) body = <Loading label="Loading notifications" />;
  else if (list.isError) body = <ErrorState error={list.error} retry={() => list.refetch()} />;
  else if (flatten(list.data).length === 0)
    body = <Empty title="No notifications yet">When someone follows you, likes or answers your posts, you'll see it here.</Empty>;
  else
    body = (
      <>
        <ul className="card notifications">
          {flatten(list.data).map((n) => (
            <Item key={n.id} n={n} />
          ))}
        </ul>
        <LoadMore onVisible={() => list.fetchNextPage()} busy={list.isFetchingNextPage} more={!!list.hasNextPage} />
      </>
    );
  return (
    <>
      <h1 className="page-title">Notifications</h1>
      {body}
    </>
  );
}
