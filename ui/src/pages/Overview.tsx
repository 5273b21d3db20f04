import type { Api } from "../api";
import { DailyChart, type DayCounts } from "../components/DailyChart";
import { ErrorBox } from "../components/ErrorBox";
import { Ticker } from "../components/Ticker";
import { lastDays, until, utc } from "../format";
import type { OverviewQuery, OverviewQueryVariables } from "../generated/graphql";
import { useLoad } from "../hooks";
import { OVERVIEW } from "../operations";
import { href } from "../router";

const DAYS = 14;

export function Overview({ api }: { api: Api }) {
  const days = lastDays(DAYS);
  const from = `${days[0]}T00:00:00Z`;
  const to = new Date(Date.parse(`${days[DAYS - 1]}T00:00:00Z`) + 86400000).toISOString();
  const { data, error } = useLoad(
    () => api.request<OverviewQuery, OverviewQueryVariables>(OVERVIEW, { from, to }),
    [api, from],
  );
  const perDay = new Map(data?.deliveryStats.perDay.map((d) => [d.day, d]) ?? []);
  const series: DayCounts[] = days.map((day) => {
    const d = perDay.get(day);
    return {
      day,
      sent: d?.sent ?? 0,
      failed: d?.failed ?? 0,
      deferred: d?.deferred ?? 0,
      failovers: d?.failovers ?? 0,
    };
  });
  const totals = data?.deliveryStats;

  return (
    <>
      <ErrorBox error={error} />
      <section aria-labelledby="today-title">
        <h2 id="today-title">Today, per provider</h2>
        {data && data.smtpConfigs.length === 0 && (
          <p>
            No providers yet. <a href={href({ page: "providers" })}>Add one</a>.
          </p>
        )}
        <ul class="cards">
          {data?.smtpConfigs.map((c) => (
            <li class="card" key={c.id} data-config={c.name}>
              <h3>
                {c.name} {c.isDefault && <span class="badge">default</span>}
              </h3>
              <label class="meter-label">
                <span>
                  <span class="sent-today">{c.sentToday}</span> of {c.dailyLimit} sent today
                </span>
                <meter min={0} max={c.dailyLimit} value={c.sentToday} high={c.dailyLimit * 0.9} />
              </label>
              <p class="muted">
                Resets at <time dateTime={c.resetsAt}>{utc(c.resetsAt)}</time> (
                {until(c.resetsAt)}); {c.remainingToday} left.
              </p>
            </li>
          ))}
        </ul>
      </section>
      <section aria-labelledby="stats-title">
        <h2 id="stats-title">Last {DAYS} days</h2>
        {totals && (
          <p class="totals">
            <span data-total="sent">{totals.sent} sent</span> ·{" "}
            <span data-total="failed">{totals.failed} failed</span> ·{" "}
            <span data-total="deferred">{totals.deferred} deferred</span> ·{" "}
            <span data-total="failovers">{totals.failovers} failovers</span>
          </p>
        )}
        <DailyChart days={series} />
      </section>
      <Ticker api={api} />
    </>
  );
}
