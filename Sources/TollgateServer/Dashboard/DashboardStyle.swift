/// The dashboard's one stylesheet, served from the binary at `/dashboard/style.css`.
enum DashboardStyle {
    static let css = """
        :root { --ink: #111827; --muted: #6b7280; --line: #e5e7eb; --accent: #2563eb; --bad: #b91c1c; --ok: #15803d; --bg: #f9fafb; }
        * { box-sizing: border-box; }
        body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; color: var(--ink); background: var(--bg); }
        header { display: flex; align-items: center; gap: 24px; padding: 10px 24px; background: #fff; border-bottom: 1px solid var(--line); }
        header .brand { font-weight: 700; color: var(--ink); text-decoration: none; font-size: 16px; }
        header nav { display: flex; gap: 16px; flex: 1; }
        header nav a { color: var(--muted); text-decoration: none; padding: 4px 0; }
        header nav a[aria-current=page] { color: var(--ink); border-bottom: 2px solid var(--accent); }
        .signout { display: flex; align-items: center; gap: 10px; }
        .scope { color: var(--muted); }
        main { max-width: 1280px; margin: 0 auto; padding: 16px 24px 48px; }
        h1 { font-size: 20px; margin: 8px 0 16px; }
        h2 { font-size: 16px; margin: 24px 0 8px; }
        a { color: var(--accent); }
        table { width: 100%; border-collapse: collapse; background: #fff; border: 1px solid var(--line); }
        th, td { text-align: left; padding: 6px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
        thead th { font-weight: 600; color: var(--muted); background: #f3f4f6; }
        td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; } td.time { white-space: nowrap; }
        td.bad { color: var(--bad); font-weight: 600; } td.ok { color: var(--ok); }
        table.fields { width: auto; min-width: 480px; } table.fields th { color: var(--muted); font-weight: 500; width: 220px; }
        .tag { display: inline-block; background: #eef2ff; color: #3730a3; border-radius: 4px; padding: 0 6px; margin: 0 4px 2px 0; font-size: 12px; }
        form.filters, form.create { display: flex; flex-wrap: wrap; gap: 10px 16px; align-items: end; background: #fff; border: 1px solid var(--line); padding: 12px; margin-bottom: 16px; }
        form.filters label, form.create label { display: flex; flex-direction: column; gap: 2px; color: var(--muted); font-size: 12px; }
        form.filters label input + input { margin-top: 4px; }
        input { font: inherit; padding: 5px 8px; border: 1px solid #d1d5db; border-radius: 4px; }
        button { font: inherit; padding: 5px 12px; border: 1px solid #d1d5db; border-radius: 4px; background: #fff; cursor: pointer; }
        button[type=submit]:hover { border-color: var(--accent); color: var(--accent); }
        form.inline { display: inline; margin-right: 4px; }
        form.signin { max-width: 420px; background: #fff; border: 1px solid var(--line); padding: 20px; display: flex; flex-direction: column; gap: 10px; }
        .hint, .period, .empty { color: var(--muted); }
        .error { color: var(--bad); font-weight: 600; }
        .notice { background: #ecfdf5; border: 1px solid #a7f3d0; padding: 8px 12px; margin-bottom: 16px; }
        code.key { user-select: all; }
        dl.totals { display: grid; grid-template-columns: repeat(auto-fit, minmax(160px, 1fr)); gap: 12px; margin: 0 0 16px; }
        dl.totals div { background: #fff; border: 1px solid var(--line); padding: 12px; }
        dl.totals dt { color: var(--muted); font-size: 12px; } dl.totals dd { margin: 4px 0 0; font-size: 22px; font-weight: 600; }
        figure.chart { background: #fff; border: 1px solid var(--line); margin: 0 0 16px; padding: 12px; }
        figure.chart figcaption { font-weight: 600; margin-bottom: 6px; }
        figure.chart svg { width: 100%; max-width: 760px; height: auto; display: block; }
        svg .grid { stroke: var(--line); } svg .axis { fill: var(--muted); font-size: 11px; }
        ul.legend { list-style: none; display: flex; gap: 16px; padding: 0; margin: 6px 0 0; color: var(--muted); }
        figure.chart svg.swatch { display: inline-block; width: 10px; height: 10px; vertical-align: middle; margin-right: 6px; }
        ul.legend li { display: flex; align-items: center; }
        .message { background: #fff; border: 1px solid var(--line); margin-bottom: 8px; }
        .message .role { font-size: 12px; color: var(--muted); padding: 4px 10px; border-bottom: 1px solid var(--line); text-transform: uppercase; }
        .message pre, pre.raw { margin: 0; padding: 10px; white-space: pre-wrap; word-break: break-word; font: 13px/1.5 ui-monospace, "DejaVu Sans Mono", monospace; }
        .message.reply { border-color: #bfdbfe; }
        details { margin-top: 12px; } details pre.raw { background: #fff; border: 1px solid var(--line); max-height: 480px; overflow: auto; }
        ul.attempts { margin: 0; padding: 0; list-style: none; }
        nav.periods { display: flex; gap: 8px; margin-bottom: 8px; }
        nav.periods a { padding: 3px 10px; border: 1px solid var(--line); border-radius: 4px; background: #fff; text-decoration: none; }
        nav.periods a[aria-current] { border-color: var(--accent); color: #fff; background: var(--accent); }
        div.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(480px, 1fr)); gap: 0 16px; }
        table.latency, table.costs { margin-bottom: 16px; }
        p.live-bar { display: flex; flex-wrap: wrap; gap: 6px 16px; align-items: baseline; margin: 0 0 12px; }
        .live-state { font-weight: 600; } .live-state[data-state=live] { color: var(--ok); }
        .live-state[data-state=live]::before { content: "● "; } .live-state[data-state=stopped] { color: var(--bad); }
        .live-state[data-state=waiting] { color: var(--muted); }
        @keyframes arrived { from { background: #fef9c3; } to { background: #fff; } }
        tr.arrived td { animation: arrived 2s ease-out; }
        """
}
