// The home feed: compose, then the people one follows, with new posts arriving live.
import { useQueryClient, type InfiniteData } from "@tanstack/react-query";
import { Link } from "react-router";
import type { Page, Post } from "../api";
import { Compose } from "../components/Compose";
import { PostList, usePostPages } from "../components/PostList";
import { Empty, useTitle } from "../components/ui";
import { useLive } from "../live";

export default function Home() {
  useTitle("Home");
  const feed = usePostPages(["feed"], "/api/feed");
  const { newPosts, clearNewPosts } = useLive();
  const client = useQueryClient();

  const known = new Set(feed.data?.pages.flatMap((p) => p.items.map((i) => i.id)));
  const unseen = newPosts.filter((p) => !known.has(p.id));

  const showNew = () => {
    client.setQueryData<InfiniteData<Page<Post>>>(["posts", "feed"], (data) =>
      data ? { ...data, pages: [{ ...data.pages[0], items: [...unseen, ...data.pages[0].items] }, ...data.pages.slice(1)] } : data,
    );
    clearNewPosts();
    window.scrollTo({ top: 0, behavior: "smooth" });
  };

  return (
    <>
      <h1 className="page-title">Home</h1>
      <Compose />
      <div className="visually-hidden" aria-live="polite">
        {unseen.length > 0 && `${unseen.length} new ${unseen.length === 1 ? "post" : "posts"}`}
      </div>
      {unseen.length > 0 && (
        <button type="button" className="new-posts" onClick={showNew}>
          Show {unseen.length} new {unseen.length === 1 ? "post" : "posts"}
        </button>
      )}
      <PostList
        query={feed}
        empty={
          <Empty title="Your feed is empty">
            Posts from people you follow show up here. <Link to="/people">Find people to follow</Link> or{" "}
            <Link to="/explore">see what's trending</Link>.
          </Empty>
        }
      />
    </>
  );
}
