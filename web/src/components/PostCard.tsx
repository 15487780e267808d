// One post: author, text, images (dimensions reserved, lazy-loaded), like and reply.
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { Link, useNavigate } from "react-router";
import { del, post as send, type LikeState, type Media, type Post } from "../api";
import { updatePost } from "../posts";
import { useToken } from "../session";
import { Icon } from "./Icon";
import { Avatar, TimeAgo, UserName } from "./ui";

export function PostImage({ media, full }: { media: Media; full?: boolean }) {
  const src = full || !media.thumbnail_url ? media.url : media.thumbnail_url;
  return (
    <a href={media.url} className="post-image" target="_blank" rel="noreferrer">
      <img src={src} alt="Image attached to the post" width={media.width ?? 320} height={media.height ?? 240} loading="lazy" decoding="async" />
    </a>
  );
}

/** Like / unlike, shown at once and put right if the server disagrees. */
export function useLike(post: Post) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (like: boolean) =>
      like ? send<LikeState>(`/api/posts/${post.id}/like`) : del<LikeState>(`/api/posts/${post.id}/like`),
    onMutate: (like) => {
      updatePost(client, post.id, (p) => ({ ...p, liked_by_me: like, like_count: p.like_count + (like ? 1 : -1) }));
    },
    onError: (_error, like) => {
      updatePost(client, post.id, (p) => ({ ...p, liked_by_me: !like, like_count: p.like_count + (like ? -1 : 1) }));
    },
    onSuccess: (state) => {
      updatePost(client, post.id, (p) => ({ ...p, liked_by_me: state.liked, like_count: state.like_count }));
    },
  });
}

export function PostCard({ post, full }: { post: Post; full?: boolean }) {
  const token = useToken();
  const navigate = useNavigate();
  const like = useLike(post);
  const toggleLike = () => (token ? like.mutate(!post.liked_by_me) : navigate("/login"));
  return (
    <article className="card post" aria-label={`Post by ${post.author.display_name}`}>
      <Avatar user={post.author} />
      <div className="post-body">
        <header className="post-head">
          <UserName user={post.author} />
          <span className="muted" aria-hidden="true">·</span>
          <Link to={`/p/${post.id}`} className="post-time">
            <TimeAgo at={post.created_at} />
          </Link>
          {post.held && <span className="tag">Held for review</span>}
        </header>
        {post.text && <p className={full ? "post-text post-text-large" : "post-text"}>{post.text}</p>}
        {post.media.length > 0 && (
          <div className={`post-media post-media-${Math.min(post.media.length, 4)}`}>
            {post.media.map((m) => (
              <PostImage key={m.id} media={m} full={full} />
            ))}
          </div>
        )}
        <footer className="post-actions">
          <button
            type="button"
            className={post.liked_by_me ? "action liked" : "action"}
            aria-pressed={post.liked_by_me}
            aria-label={`${post.liked_by_me ? "Unlike" : "Like"} (${post.like_count} ${post.like_count === 1 ? "like" : "likes"})`}
            onClick={toggleLike}
          >
            <Icon name={post.liked_by_me ? "heart-filled" : "heart"} /> <span className="count">{post.like_count}</span>
          </button>
          <Link to={`/p/${post.id}`} className="action" aria-label={`Comments (${post.comment_count})`}>
            <Icon name="comment" /> <span className="count">{post.comment_count}</span>
          </Link>
        </footer>
      </div>
    </article>
  );
}
