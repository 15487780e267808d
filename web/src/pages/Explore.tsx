// Trending posts and the public timeline.
import { useQuery } from "@tanstack/react-query";
import { useSearchParams } from "react-router";
import { get, type Post } from "../api";
import { PostCard } from "../components/PostCard";
import { PostList, usePostPages } from "../components/PostList";
import { Empty, ErrorState, Loading, useTitle } from "../components/ui";
import { Tabs } from "../components/Tabs";

function Trending({ window }: { window: string }) {
  const trending = useQuery({
    queryKey: ["posts", "trending", window],
    queryFn: () => get<{ items: Post[] }>(`/api/trending?window=${window}`),
  });
  if (trending.isPending) return <Loading label="Loading trending posts" />;
  if (trending.isError) return <ErrorState error={trending.error} retry={() => trending.refetch()} />;
  if (trending.data.items.length === 0)
    return <Empty title="Nothing is trending yet">Posts that people like and comment on rise here.</Empty>;
  return (
    <div className="list">
      {trending.data.items.map((post) => (
        <PostCard key={post.id} post={post} />
      ))}
    </div>
  );
}

function Timeline() {
  const timeline = usePostPages(["timeline"], "/api/timeline");
  return <PostList query={timeline} empty={<Empty title="No posts in the last day">Be the first to post something.</Empty>} />;
}

export default function Explore() {
  const [params, setParams] = useSearchParams();
  const tab = params.get("tab") ?? "trending";
  useTitle(tab === "latest" ? "Latest posts" : "Trending");
  return (
    <>
      <h1 className="page-title">Explore</h1>
      <Tabs
        label="Explore"
        current={tab}
        tabs={[
          { id: "trending", label: "Trending today" },
          { id: "hour", label: "Last hour" },
          { id: "latest", label: "Latest" },
        ]}
        onChange={(id) => setParams({ tab: id })}
      />
      {tab === "latest" ? <Timeline /> : <Trending window={tab === "hour" ? "1h" : "24h"} />}
    </>
  );
}
