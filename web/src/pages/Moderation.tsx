// The moderators' reports queue: each open report with its target as it is now.
import { useInfiniteQuery, useMutation, useQueryClient } from "@tanstack/react-query";
import { Link } from "react-router";
import { ApiError, get, post, withQuery, type Page, type Report } from "../api";
import { flatten } from "../posts";
import { Avatar, Empty, ErrorState, Loading, LoadMore, TimeAgo, useTitle } from "../components/ui";

function ReportCard({ report }: { report: Report }) {
  const client = useQueryClient();
  const resolve = useMutation({
    mutationFn: (action: "dismiss" | "remove" | "suspend") => post<Report>(`/api/admin/reports/${report.id}/resolve`, { action }),
    onSuccess: () => {
      client.invalidateQueries({ queryKey: ["reports"] });
      client.invalidateQueries({ queryKey: ["posts"] });
    },
  });
  const target = report.target;
  const what = report.target_type === "user" ? "user" : report.target_type;
  return (
    <li className="card report" aria-label={`Report about a ${what}`}>
      <div className="report-head">
        <span className="tag">{report.automatic ? "Screening list" : `Reported ${what}`}</span>
        <TimeAgo at={report.created_at} />
      </div>
      {target ? (
        <div className="report-target">
          <Avatar user={target.user} size={32} />
          <div>
            <Link to={`/u/${target.user.username}`}>
              <strong>{target.user.display_name}</strong> <span className="muted">@{target.user.username}</span>
            </Link>
            {target.text != null && (
              <blockquote>
                {report.target_type === "post" ? <Link to={`/p/${report.target_id}`}>{target.text || "(no text)"}</Link> : target.text}
              </blockquote>
            )}
            {target.held && <span className="tag">Held</span>} {target.suspended && <span className="tag">Suspended</span>}
          </div>
        </div>
      ) : (
        <p className="muted">The reported {what} is already gone.</p>
      )}
      <p>
        <span className="muted">Reason:</span> {report.reason}
        {report.reporter && <span className="muted"> — @{report.reporter.username}</span>}
      </p>
      <div className="report-actions">
        <button type="button" className="button" disabled={resolve.isPending} onClick={() => resolve.mutate("dismiss")}>
          Dismiss
        </button>
        <button type="button" className="button button-danger" disabled={resolve.isPending} onClick={() => resolve.mutate("remove")}>
          {report.target_type === "user" ? "Suspend user" : `Remove ${what}`}
        </button>
        {report.target_type !== "user" && (
          <button type="button" className="button button-danger" disabled={resolve.isPending} onClick={() => resolve.mutate("suspend")}>
            Suspend author
          </button>
        )}
      </div>
      {resolve.isError && (
        <p className="form-error" role="alert">
          {(resolve.error as Error).message}
        </p>
      )}
    </li>
  );
}

export default function Moderation() {
  useTitle("Reports");
  const reports = useInfiniteQuery({
    queryKey: ["reports"],
    queryFn: ({ pageParam }) => get<Page<Report>>(withQuery("/api/admin/reports", { cursor: pageParam })),
    initialPageParam: null as string | null,
    getNextPageParam: (last) => last.next_cursor ?? null,
  });
  let body;
  if (reports.isPending) body = <Loading label="Loading reports" />;
  else if (reports.isError)
    body =
      reports.error instanceof ApiError && reports.error.status === 403 ? (
        <Empty title="Moderators only">This page is for the moderators of this server.</Empty>
      ) : (
        <ErrorState error={reports.error} retry={() => reports.refetch()} />
      );
  else if (flatten(reports.data).length === 0) body = <Empty title="No open reports">Everything reported has been dealt with.</Empty>;
  else
    body = (
      <>
        <ul className="list">
          {flatten(reports.data).map((r) => (
            <ReportCard key={r.id} report={r} />
          ))}
        </ul>
        <LoadMore onVisible={() => reports.fetchNextPage()} busy={reports.isFetchingNextPage} more={!!reports.hasNextPage} />
      </>
    );
  return (
    <>
      <h1 className="page-title">Reports</h1>
      {body}
    </>
  );
}
