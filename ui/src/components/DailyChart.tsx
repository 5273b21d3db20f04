// Deliveries, failures, deferrals and failovers per UTC day: a Chart.js bar chart, and
// the same numbers as a table (for screen readers, small screens and exact counts).
import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  Legend,
  LinearScale,
  Tooltip,
} from "chart.js";
import { useEffect, useRef } from "preact/hooks";

Chart.register(BarController, BarElement, CategoryScale, LinearScale, Legend, Tooltip);

export interface DayCounts {
  day: string;
  sent: number;
  failed: number;
  deferred: number;
  failovers: number;
}

const SERIES: { key: keyof Omit<DayCounts, "day">; label: string; color: string }[] = [
  { key: "sent", label: "Sent", color: "#2f7d32" },
  { key: "failed", label: "Failed", color: "#c62828" },
  { key: "deferred", label: "Deferred", color: "#e09a00" },
  { key: "failovers", label: "Failovers", color: "#5c6bc0" },
];

export function DailyChart({ days }: { days: DayCounts[] }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const chart = useRef<Chart<"bar"> | null>(null);

  useEffect(() => {
    if (!canvas.current) return;
    chart.current = new Chart(canvas.current, {
      type: "bar",
      data: { labels: [], datasets: [] },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        scales: { y: { beginAtZero: true, ticks: { precision: 0 } } },
        plugins: { legend: { position: "bottom" } },
      },
    });
    return () => chart.current?.destroy();
  }, []);

  useEffect(() => {
    const c = chart.current;
    if (!c) return;
    c.data.labels = days.map((d) => d.day.slice(5));
    c.data.datasets = SERIES.map((s) => ({
      label: s.label,
      data: days.map((d) => d[s.key]),
      backgroundColor: s.color,
    }));
    c.update();
  }, [days]);

  return (
    <figure class="chart">
      <div class="chart-canvas">
        <canvas
          ref={canvas}
          role="img"
          aria-label="Bar chart of sent, failed, deferred and failovers per day; the table below has the numbers"
        />
      </div>
      <figcaption>
        <details>
          <summary>Numbers per day</summary>
          <div class="table-wrap">
            <table class="day-table">
              <thead>
                <tr>
                  <th scope="col">Day (UTC)</th>
                  {SERIES.map((s) => (
                    <th scope="col" key={s.key}>
                      {s.label}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {days.map((d) => (
                  <tr key={d.day} data-day={d.day}>
                    <th scope="row">{d.day}</th>
                    {SERIES.map((s) => (
                      <td key={s.key} data-series={s.key}>
                        {d[s.key]}
                      </td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </details>
      </figcaption>
    </figure>
  );
}
