// An infinitely scrolling list of posts from any paged endpoint.
import { useInfiniteQuery } from "@tanstack/react-query";
import type { ReactNode } from "react";
import { get, withQuery, type Page, type Post } from "../api";
import { flatten } from "../posts";
import { PostCard } from "./PostCard";
import { Empty, ErrorState, Loading, LoadMore } from "./ui";

export function usePostPages(key: unknown[], path: string, params: Record<string, string> = {}) {
  return useInfiniteQuery({
    queryKey: ["posts", ...key],
    queryFn: ({ pageParam }) => get<Page<Post>>(withQuery(path, { ...params, cursor: pageParam })),
    initialPageParam: null as string | null,
    getNextPageParam: (last) => last.next_cursor ?? null,
  });
}

export function PostList({ query, empty }: { query: ReturnType<typeof usePostPages>; empty: ReactNode }) {
  if (query.isPending) return <Loading label="Loading posts" />;
  if (query.isError) return <ErrorState error={query.error} retry={() => query.refetch()} />;
  const posts = flatten(query.data);
  if (posts.length === 0) return <>{empty}</>;
  return (
    <>
      <div className="list">
        {posts.map((post) => (
          <PostCard key={post.id} post={post} />
        ))}
      </div>
      <LoadMore onVisible={() => query.fetchNextPage()} busy={query.isFetchingNextPage} more={!!query.hasNextPage} />
      {!query.hasNextPage && posts.length > 5 && <Empty title="You're all caught up" />}
    </>
  );
}
