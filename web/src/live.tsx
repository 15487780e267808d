// The live event stream (GET /api/stream): new posts for the home feed, engagement counts,
// and notifications (the unread badge). EventSource cannot send headers, so the token goes
// as `?access_token=`, which the contract accepts on this route only.
import { createContext, useContext, useEffect, useState, type ReactNode } from "react";
import { useQueryClient } from "@tanstack/react-query";
import type { Notification, Post } from "./api";
import { updatePost } from "./posts";
import { useToken } from "./session";

interface Live {
  /** Posts that arrived since the feed was last shown, newest first. */
  newPosts: Post[];
  clearNewPosts: () => void;
}

const LiveContext = createContext<Live>({ newPosts: [], clearNewPosts: () => {} });
let current: EventSource | null = null;

/** Closes the stream before the session ends (sign-out, deletion), so it never retries with a dead token. */
export function closeStream(): void {
  current?.close();
  current = null;
}

export function LiveProvider({ children }: { children: ReactNode }) {
  const token = useToken();
  const client = useQueryClient();
  const [newPosts, setNewPosts] = useState<Post[]>([]);

  useEffect(() => {
    setNewPosts([]);
    if (!token) return;
    const source = new EventSource(`/api/stream?access_token=${encodeURIComponent(token)}`);
    current = source;
    source.addEventListener("post", (event) => {
      const post = JSON.parse(event.data) as Post;
      setNewPosts((posts) => (posts.some((p) => p.id === post.id) ? posts : [post, ...posts]));
    });
    source.addEventListener("engagement", (event) => {
      const { post_id, like_count, comment_count } = JSON.parse(event.data);
      updatePost(client, post_id, (post) => ({ ...post, like_count, comment_count }));
    });
    source.addEventListener("notification", (event) => {
      const notification = JSON.parse(event.data) as Notification;
      // The badge shows the server's count (a local +1 could race a refetch and count twice).
      client.invalidateQueries({ queryKey: ["me"] });
      client.invalidateQueries({ queryKey: ["notifications"] });
      if (notification.kind === "follow") client.invalidateQueries({ queryKey: ["user"] });
    });
    return () => {
      source.close();
      if (current === source) current = null;
    };
  }, [token, client]);

  return <LiveContext.Provider value={{ newPosts, clearNewPosts: () => setNewPosts([]) }}>{children}</LiveContext.Provider>;
}

export function useLive(): Live {
  return useContext(LiveContext);
}
