// Keeping every cached copy of a post in step: lists (query keys starting with "posts") and
// the single post ("post", id). Used by optimistic likes and by live engagement events.
import type { InfiniteData, QueryClient } from "@tanstack/react-query";
import type { Page, Post } from "./api";

export function updatePost(client: QueryClient, id: string, change: (post: Post) => Post): void {
  const apply = (post: Post) => (post.id === id ? change(post) : post);
  client.setQueriesData<InfiniteData<Page<Post>> | { items: Post[] }>({ queryKey: ["posts"] }, (data) => {
    if (!data) return data;
    if ("pages" in data) return { ...data, pages: data.pages.map((page) => ({ ...page, items: page.items.map(apply) })) };
    return { ...data, items: data.items.map(apply) };
  });
  client.setQueryData<Post>(["post", id], (post) => (post ? change(post) : post));
}

/** Every post of an infinite list's pages, in order. */
export function flatten<T>(data: InfiniteData<Page<T>> | undefined): T[] {
  return data ? data.pages.flatMap((page) => page.items) : [];
}
