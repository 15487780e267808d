// Writing a post: text and up to four images, previewed before they are sent.
import { useEffect, useId, useState, type FormEvent } from "react";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { post as send, uploadImage, type Post } from "../api";
import { Icon } from "./Icon";

const MAX_TEXT = 500;

export function Compose({ onPosted }: { onPosted?: (post: Post) => void }) {
  const id = useId();
  const client = useQueryClient();
  const [text, setText] = useState("");
  const [files, setFiles] = useState<File[]>([]);
  const [previews, setPreviews] = useState<string[]>([]);

  useEffect(() => {
    const urls = files.map((file) => URL.createObjectURL(file));
    setPreviews(urls);
    return () => urls.forEach((url) => URL.revokeObjectURL(url));
  }, [files]);

  const publish = useMutation({
    mutationFn: async () => {
      const media = await Promise.all(files.map(uploadImage));
      return send<Post>("/api/posts", { text, media_ids: media.map((m) => m.id) });
    },
    onSuccess: (created) => {
      setText("");
      setFiles([]);
      client.invalidateQueries({ queryKey: ["posts"] });
      client.invalidateQueries({ queryKey: ["me"] });
      onPosted?.(created);
    },
  });

  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (text.trim() || files.length) publish.mutate();
  };
  const left = MAX_TEXT - text.length;

  return (
    <form className="card compose" onSubmit={submit} aria-label="New post">
      <label htmlFor={`${id}-text`} className="visually-hidden">
        What's happening?
      </label>
      <textarea
        id={`${id}-text`}
        value={text}
        maxLength={MAX_TEXT}
        rows={3}
        placeholder="What's happening?"
        onChange={(e) => setText(e.target.value)}
      />
      {previews.length > 0 && (
        <ul className="previews" aria-label="Images to attach">
          {previews.map((url, i) => (
            <li key={url}>
              <img src={url} alt={`Preview of ${files[i]?.name ?? "the image"}`} width={96} height={96} />
              <button type="button" className="remove" aria-label={`Remove ${files[i]?.name ?? "image"}`} onClick={() => setFiles(files.filter((_, j) => j !== i))}>
                ×
              </button>
            </li>
          ))}
        </ul>
      )}
      <div className="compose-bar">
        <label className="button button-quiet file-button">
          <Icon name="image" />
          <span>Add image</span>
          <input
            type="file"
            accept="image/jpeg,image/png,image/gif,image/webp"
            multiple
            className="visually-hidden"
            onChange={(e) => {
              setFiles([...files, ...Array.from(e.target.files ?? [])].slice(0, 4));
              e.target.value = "";
            }}
          />
        </label>
        <span className={left < 20 ? "counter counter-low" : "counter"} aria-live="polite">
          {left}
        </span>
        <button type="submit" className="button button-primary" disabled={publish.isPending || (!text.trim() && !files.length)}>
          {publish.isPending ? "Posting…" : "Post"}
        </button>
      </div>
      {publish.isError && (
        <p className="form-error" role="alert">
          {(publish.error as Error).message}
        </p>
      )}
    </form>
  );
}
