// Operations, for moderators: daily activity (GET /api/admin/stats) drawn as inline SVG, and
// the DynamoDB cost per route (GET /api/admin/cost), and this instance's key metrics (GET /metrics). A server without those endpoints
// answers 404, shown as "not available" rather than as an error.
import { useQuery } from "@tanstack/react-query";
import { ApiError, get, type Cost, type DayStats, type Stats } from "../api";
import { Empty, ErrorState, Loading, useTitle } from "../components/ui";
import LiveMetrics from "./LiveMetrics";

const series: { key: keyof Omit<DayStats, "date">; label: string }[] = [
  { key: "active_users", label: "Active users" },
  { key: "posts", label: "Posts" },
  { key: "likes", label: "Likes" },
  { key: "comments", label: "Comments" },
  { key: "follows", label: "Follows" },
  { key: "feed_reads", label: "Feed reads" },
];

const W = 320;
const H = 120;
const PAD = 4;

function Chart({ days, field, label }: { days: DayStats[]; field: keyof Omit<DayStats, "date">; label: string }) {
  const values = days.map((d) => d[field]);
  const max = Math.max(1, ...values);
  const step = days.length > 1 ? (W - 2 * PAD) / (days.length - 1) : 0;
  const points = values.map((v, i) => [PAD + i * step, H - PAD - (v / max) * (H - 2 * PAD)] as const);
  const line = points.map(([x, y], i) => `${i ? "L" : "M"}${x.toFixed(1)},${y.toFixed(1)}`).join(" ");
  const area = points.length ? `${line} L${points[points.length - 1][0].toFixed(1)},${H - PAD} L${PAD},${H - PAD} Z` : "";
  const total = values.reduce((a, b) => a + b, 0);
  const today = values[values.length - 1] ?? 0;
  return (
    <figure className="chart card">
      <figcaption>
        <span className="chart-label">{label}</span>
        <span className="chart-value">{today.toLocaleString()}</span>
        <span className="muted chart-sub">today · {total.toLocaleString()} in {days.length} days</span>
      </figcaption>
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={`${label} per day, from ${days[0]?.date} to ${days[days.length - 1]?.date}; peak ${max}`}>
        <line x1={PAD} x2={W - PAD} y1={H - PAD} y2={H - PAD} className="chart-axis" />
        <path d={area} className="chart-area" />
        <path d={line} className="chart-line" />
      </svg>
      <div className="chart-dates muted" aria-hidden="true">
        <span>{days[0]?.date}</span>
        <span>peak {max.toLocaleString()}</span>
        <span>{days[days.length - 1]?.date}</span>
      </div>
    </figure>
  );
}

function Unavailable({ what }: { what: string }) {
  return <Empty title="Not available on this server">This server does not provide {what} (its endpoint answered 404).</Empty>;
}

function StatsPanel() {
  const stats = useQuery({ queryKey: ["admin", "stats"], queryFn: () => get<Stats>("/api/admin/stats?days=30") });
  if (stats.isPending) return <Loading label="Loading statistics" />;
  if (stats.isError)
    return stats.error instanceof ApiError && stats.error.status === 404 ? <Unavailable what="daily statistics" /> : <ErrorState error={stats.error} retry={() => stats.refetch()} />;
  const { days, monthly_active_users } = stats.data;
  return (
    <>
      <p className="big-number">
        <strong>{monthly_active_users.toLocaleString()}</strong> <span className="muted">monthly active users (estimate)</span>
      </p>
      <div className="charts">
        {series.map((s) => (
          <Chart key={s.key} days={days} field={s.key} label={s.label} />
        ))}
      </div>
    </>
  );
}

const usd = (n: number) => `$${n.toPrecision(3)}`;

function CostPanel() {
  const cost = useQuery({ queryKey: ["admin", "cost"], queryFn: () => get<Cost>("/api/admin/cost") });
  if (cost.isPending) return <Loading label="Loading costs" />;
  if (cost.isError)
    return cost.error instanceof ApiError && cost.error.status === 404 ? <Unavailable what="cost figures" /> : <ErrorState error={cost.error} retry={() => cost.refetch()} />;
  const { routes, background, since } = cost.data;
  return (
    <>
      <p className="muted">Measured since {new Date(since).toLocaleString()}.</p>
      <div className="table-wrap">
        <table>
          <caption className="visually-hidden">Cost per route</caption>
          <thead>
            <tr>
              <th scope="col">Route</th>
              <th scope="col">Requests</th>
              <th scope="col">Read units</th>
              <th scope="col">Write units</th>
              <th scope="col">USD / 1000 requests</th>
            </tr>
          </thead>
          <tbody>
            {routes.length === 0 && (
              <tr>
                <td colSpan={5} className="muted">
                  No requests measured yet.
                </td>
              </tr>
            )}
            {routes.map((r) => (
              <tr key={r.route}>
                <th scope="row">
                  <code>{r.route}</code>
                </th>
                <td>{r.requests.toLocaleString()}</td>
                <td>{r.read_units.toFixed(1)}</td>
                <td>{r.write_units.toFixed(1)}</td>
                <td>{usd(r.usd_per_1000_requests)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {background.length > 0 && (
        <div className="table-wrap">
          <table>
            <caption className="visually-hidden">Cost of background jobs</caption>
            <thead>
              <tr>
                <th scope="col">Background job</th>
                <th scope="col">Runs</th>
                <th scope="col">Read units</th>
                <th scope="col">Write units</th>
                <th scope="col">USD / 1000 runs</th>
              </tr>
            </thead>
            <tbody>
              {background.map((j) => (
                <tr key={j.job}>
                  <th scope="row">{j.job}</th>
                  <td>{j.runs.toLocaleString()}</td>
                  <td>{j.read_units.toFixed(1)}</td>
                  <td>{j.write_units.toFixed(1)}</td>
                  <td>{usd(j.usd_per_1000_runs)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}

export default function Operations() {
  useTitle("Operations");
  return (
    <>
      <h1 className="page-title">Operations</h1>
      <section aria-labelledby="ops-activity">
        <h2 id="ops-activity" className="section-title">
          Activity, last 30 days
        </h2>
        <StatsPanel />
      </section>
      <section aria-labelledby="ops-cost">
        <h2 id="ops-cost" className="section-title">
          DynamoDB cost per route
        </h2>
        <CostPanel />
      </section>
      <section aria-labelledby="ops-metrics">
        <h2 id="ops-metrics" className="section-title">
          This instance since it started
        </h2>
        <LiveMetrics />
      </section>
    </>
  );
}
