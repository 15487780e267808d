// One post with its threaded comments: reply to the post or to any comment; report it.
import { useId, useState, type FormEvent } from "react";
import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useNavigate, useParams } from "react-router";
import { ApiError, del, get, post as send, withQuery, type Comment, type Page, type Post } from "../api";
import { PostCard } from "../components/PostCard";
import { flatten } from "../posts";
import { Avatar, Empty, ErrorState, Loading, LoadMore, TimeAgo, UserName, useTitle } from "../components/ui";
import { useMe } from "../session";

function CommentForm({ postId, parent, onDone, autoFocus }: { postId: string; parent?: Comment; onDone?: () => void; autoFocus?: boolean }) {
  const id = useId();
  const client = useQueryClient();
  const [text, setText] = useState("");
  const add = useMutation({
    mutationFn: () => send<Comment>(`/api/posts/${postId}/comments`, { text, parent_id: parent?.id }),
    onSuccess: () => {
      setText("");
      // The server's count, not a local +1: the live engagement event may have counted it already.
      client.invalidateQueries({ queryKey: ["post", postId] });
      client.invalidateQueries({ queryKey: ["comments", postId] });
      onDone?.();
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (text.trim()) add.mutate();
  };
  const label = parent ? `Reply to ${parent.author.display_name}` : "Write a comment";
  return (
    <form className="comment-form" onSubmit={submit}>
      <label htmlFor={id} className="visually-hidden">
        {label}
      </label>
      <input id={id} value={text} placeholder={parent ? `Reply to @${parent.author.username}` : "Write a comment…"} maxLength={500} autoFocus={autoFocus} onChange={(e) => setText(e.target.value)} />
      <button type="submit" className="button button-primary" disabled={add.isPending || !text.trim()}>
        {parent ? "Reply" : "Comment"}
      </button>
      {add.isError && (
        <p className="form-error" role="alert">
          {(add.error as Error).message}
        </p>
      )}
    </form>
  );
}

function CommentItem({ comment, postId, signedIn }: { comment: Comment; postId: string; signedIn: boolean }) {
  const [replying, setReplying] = useState(false);
  return (
    <li className="comment" style={{ marginLeft: `${Math.min(comment.depth, 6) * 1.5}rem` }}>
      <Avatar user={comment.author} size={32} />
      <div className="comment-body">
        <div className="post-head">
          <UserName user={comment.author} />
          <span className="muted" aria-hidden="true">·</span>
          <TimeAgo at={comment.created_at} />
        </div>
        {comment.deleted ? <p className="muted">This comment was deleted.</p> : <p className="comment-text">{comment.text}</p>}
        {signedIn && !comment.deleted && (
          <button type="button" className="link-button" aria-expanded={replying} onClick={() => setReplying(!replying)}>
            Reply
          </button>
        )}
        {replying && <CommentForm postId={postId} parent={comment} autoFocus onDone={() => setReplying(false)} />}
      </div>
    </li>
  );
}

function ReportForm({ postId }: { postId: string }) {
  const [open, setOpen] = useState(false);
  const [reason, setReason] = useState("");
  const report = useMutation({ mutationFn: () => send("/api/reports", { target_type: "post", target_id: postId, reason }) });
  if (report.isSuccess) return <p className="notice" role="status">Thanks — the moderators will review this post.</p>;
  if (!open)
    return (
      <button type="button" className="link-button muted" onClick={() => setOpen(true)}>
        Report this post
      </button>
    );
  return (
    <form
      className="report-form"
      onSubmit={(e) => {
        e.preventDefault();
        report.mutate();
      }}
    >
      <label htmlFor="report-reason">Why should the moderators look at this post?</label>
      <input id="report-reason" required maxLength={500} value={reason} onChange={(e) => setReason(e.target.value)} />
      <button type="submit" className="button" disabled={report.isPending || !reason.trim()}>
        Send report
      </button>
    </form>
  );
}

export default function PostPage() {
  const { id = "" } = useParams();
  const me = useMe().data;
  const navigate = useNavigate();
  const client = useQueryClient();
  const post = useQuery({ queryKey: ["post", id], queryFn: () => get<Post>(`/api/posts/${id}`) });
  const comments = useInfiniteQuery({
    queryKey: ["comments", id],
    queryFn: ({ pageParam }) => get<Page<Comment>>(withQuery(`/api/posts/${id}/comments`, { cursor: pageParam, limit: 50 })),
    initialPageParam: null as string | null,
    getNextPageParam: (last) => last.next_cursor ?? null,
  });
  const remove = useMutation({
    mutationFn: () => del(`/api/posts/${id}`),
    onSuccess: () => {
      client.invalidateQueries({ queryKey: ["posts"] });
      navigate("/");
    },
  });
  useTitle(post.data ? `${post.data.author.display_name}: “${post.data.text.slice(0, 40)}”` : "Post");

  if (post.isPending) return <Loading label="Loading the post" />;
  if (post.isError)
    return post.error instanceof ApiError && post.error.status === 404 ? (
      <>
        <h1 className="page-title">Post not found</h1>
        <Empty title="This post does not exist">It may have been deleted.</Empty>
      </>
    ) : (
      <ErrorState error={post.error} retry={() => post.refetch()} />
    );

  const all = flatten(comments.data);
  return (
    <>
      <h1 className="page-title">Post</h1>
      <PostCard post={post.data} full />
      <div className="post-tools">
        {me && me.id === post.data.author.id && (
          <button type="button" className="link-button danger" onClick={() => confirm("Delete this post?") && remove.mutate()}>
            Delete post
          </button>
        )}
        {me && me.id !== post.data.author.id && <ReportForm postId={id} />}
      </div>
      <section className="card comments" aria-labelledby="comments-heading">
        <h2 id="comments-heading" className="section-title">
          Comments
        </h2>
        {me ? <CommentForm postId={id} /> : <p className="muted">Sign in to comment.</p>}
        {comments.isPending ? (
          <Loading label="Loading comments" />
        ) : comments.isError ? (
          <ErrorState error={comments.error} retry={() => comments.refetch()} />
        ) : all.length === 0 ? (
          <Empty title="No comments yet">Start the conversation.</Empty>
        ) : (
          <ul className="thread">
            {all.map((c) => (
              <CommentItem key={c.id} comment={c} postId={id} signedIn={!!me} />
            ))}
          </ul>
        )}
        <LoadMore onVisible={() => comments.fetchNextPage()} busy={comments.isFetchingNextPage} more={!!comments.hasNextPage} />
      </section>
    </>
  );
}
