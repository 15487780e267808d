// The key metrics of this instance, read from its own GET /metrics (Prometheus text, counted
// since it started): traffic and latency per route, cache hit ratio per kind, the job queue.
// A server that serves /metrics only on a private address (metrics_listen) answers 404 here.
import { useQuery } from "@tanstack/react-query";
import { Empty, ErrorState, Loading } from "../components/ui";

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Sample lines of the text format; `# HELP`/`# TYPE` lines and anything unreadable are skipped. */
export function parseMetrics(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split("\n")) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!match) continue;
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[key] = value;
    samples.push({ name: match[1], labels, value: Number(match[3]) });
  }
  return samples;
}

/** The sum of `name`'s samples grouped by `key` of their labels. */
function sumBy(samples: Sample[], name: string, keyOf: (labels: Record<string, string>) => string, where: (s: Sample) => boolean = () => true) {
  const sums = new Map<string, number>();
  for (const s of samples) {
    if (s.name !== name || !where(s)) continue;
    const key = keyOf(s.labels);
    sums.set(key, (sums.get(key) ?? 0) + s.value);
  }
  return sums;
}

function total(samples: Sample[], name: string) {
  return samples.filter((s) => s.name === name).reduce((a, s) => a + s.value, 0);
}

async function fetchMetrics(): Promise<Sample[] | null> {
  const response = await fetch("/metrics");
  if (response.status === 404) return null;
  if (!response.ok) throw new Error(`GET /metrics answered ${response.status}.`);
  return parseMetrics(await response.text());
}

const route = (labels: Record<string, string>) => `${labels.method ?? ""} ${labels.route ?? ""}`.trim();
const kind = (labels: Record<string, string>) => labels.kind ?? "";
const ms = (seconds: number) => `${(seconds * 1000).toFixed(1)} ms`;

export default function LiveMetrics() {
  const metrics = useQuery({ queryKey: ["metrics"], queryFn: fetchMetrics, refetchInterval: 10_000 });
  if (metrics.isPending) return <Loading label="Loading metrics" />;
  if (metrics.isError) return <ErrorState error={metrics.error} retry={() => metrics.refetch()} />;
  if (metrics.data === null)
    return <Empty title="Metrics are served privately">This server serves /metrics on its own address (metrics_listen); read them in Grafana.</Empty>;
  const samples = metrics.data;
  const requests = sumBy(samples, "roost_http_requests_total", route);
  const errors = sumBy(samples, "roost_http_requests_total", route, (s) => (s.labels.status ?? "").startsWith("5"));
  const seconds = sumBy(samples, "roost_http_request_duration_seconds_sum", route);
  const routes = [...requests.entries()].sort((a, b) => b[1] - a[1]).slice(0, 12);
  const hits = sumBy(samples, "roost_cache_lookups_total", kind, (s) => s.labels.result === "hit");
  const lookups = sumBy(samples, "roost_cache_lookups_total", kind);
  const lag = total(samples, "roost_fanout_lag_seconds_sum") / Math.max(1, total(samples, "roost_fanout_lag_seconds_count"));
  return (
    <>
      <dl className="metric-tiles">
        <div className="card">
          <dt>Jobs queued</dt>
          <dd>{total(samples, "roost_job_queue_depth").toLocaleString()}</dd>
        </div>
        <div className="card">
          <dt>Dead letters</dt>
          <dd>{total(samples, "roost_job_dead_letters_total").toLocaleString()}</dd>
        </div>
        <div className="card">
          <dt>Mean fan-out lag</dt>
          <dd>{ms(lag)}</dd>
        </div>
      </dl>
      <div className="table-wrap">
        <table>
          <caption className="visually-hidden">Requests per route since the server started</caption>
          <thead>
            <tr>
              <th scope="col">Route</th>
              <th scope="col">Requests</th>
              <th scope="col">5xx</th>
              <th scope="col">Mean latency</th>
            </tr>
          </thead>
          <tbody>
            {routes.map(([name, count]) => (
              <tr key={name}>
                <th scope="row">
                  <code>{name}</code>
                </th>
                <td>{count.toLocaleString()}</td>
                <td>{(errors.get(name) ?? 0).toLocaleString()}</td>
                <td>{ms((seconds.get(name) ?? 0) / Math.max(1, count))}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <ul className="hit-ratios" aria-label="Cache hit ratio per kind">
        {[...lookups.entries()].sort().map(([what, count]) => {
          const ratio = (hits.get(what) ?? 0) / Math.max(1, count);
          return (
            <li key={what}>
              <span className="hit-kind">{what}</span>
              <svg className="hit-bar" viewBox="0 0 100 8" preserveAspectRatio="none" aria-hidden="true">
                <rect width="100" height="8" className="hit-track" />
                <rect width={(ratio * 100).toFixed(1)} height="8" className="hit-fill" />
              </svg>
              <span className="hit-value">{(ratio * 100).toFixed(0)}% hits</span>
            </li>
          );
        })}
      </ul>
    </>
  );
}
