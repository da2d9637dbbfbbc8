/// The dashboard's one script, served from the binary at `/dashboard/live.js` for the live page
/// (every other page has none). It adds each call of `/dashboard/live/events` at the top of the
/// table, as `DashboardPages.requestRow` would render it: the formats below mirror `time`,
/// `status`, `int`, `cost` and `ms` there. Every value goes in as text (`textContent`), never as
/// markup: a model, user or property is whatever a caller sent.
enum DashboardScript {
    static let live = #"""
        "use strict";
        (function () {
          var rows = document.getElementById("live-rows");
          var state = document.getElementById("live-state");
          var empty = document.getElementById("live-empty");
          if (!rows || !state) return;
          function say(name, text) { state.setAttribute("data-state", name); state.textContent = text; }
          if (!window.EventSource) { say("stopped", "This browser cannot show calls as they arrive; reload for newer calls."); return; }
          var limit = parseInt(rows.getAttribute("data-limit"), 10) || 200;
          var seen = new Set();
          Array.prototype.forEach.call(rows.rows, function (tr) { seen.add(tr.getAttribute("data-id")); });
          var missed = 0;

          function text(v, none) { return typeof v === "string" ? v : none; }
          function time(v) {
            if (typeof v !== "string") return "";
            var t = v.replace(/T/g, " ").split(".")[0];
            if (t.endsWith("Z")) t = t.slice(0, -1);
            return t + " UTC";
          }
          function status(c) { return typeof c.status !== "number" ? "" : c.status === 0 ? "no answer" : String(c.status); }
          function statusClass(c) { return (c.status || 0) >= 400 || typeof c.error === "string" ? "bad" : "ok"; }
          function int(v) { return typeof v === "number" ? String(Math.trunc(v)) : "–"; }
          function ms(v) {
            if (typeof v !== "number") return "–";
            return v >= 1000 ? (v / 1000).toFixed(2) + " s" : v.toFixed(1) + " ms";
          }
          function cost(v) {
            if (typeof v !== "number") return v === null || v === undefined ? "unpriced" : "";
            return v === 0 ? "$0" : v < 0.01 ? "$" + v.toFixed(6) : "$" + v.toFixed(2);
          }
          function cell(tr, value, className) {
            var td = document.createElement("td");
            if (className) td.className = className;
            if (value !== undefined) td.textContent = value;
            tr.appendChild(td);
            return td;
          }
          function row(c) {
            var tr = document.createElement("tr");
            tr.setAttribute("data-id", c.id);
            tr.className = "arrived";
            var link = document.createElement("a");
            link.href = "/dashboard/requests/" + encodeURIComponent(c.id);
            link.textContent = time(c.created_at);
            cell(tr, undefined, "time").appendChild(link);
            cell(tr, text(c.model, "–"));
            cell(tr, text(c.provider, ""));
            var code = cell(tr, status(c), statusClass(c));
            if (typeof c.error === "string") code.title = c.error;
            cell(tr, text(c.user_id, ""));
            var tags = cell(tr);
            var properties = c.properties && typeof c.properties === "object" ? c.properties : {};
            Object.keys(properties).forEach(function (name) {
              var tag = document.createElement("span");
              tag.className = "tag";
              tag.textContent = name + "=" + text(properties[name], "");
              tags.appendChild(tag);
            });
            cell(tr, int(c.total_tokens), "num");
            cell(tr, cost(c.cost_usd), "num");
            cell(tr, ms(c.latency_ms), "num");
            cell(tr, ms(c.time_to_first_token_ms), "num");
            return tr;
          }
          function live() {
            say("live", missed > 0 ? "Live. " + missed + " calls arrived faster than this page could show them and were skipped." : "Live: new calls appear at the top.");
          }

          var source = new EventSource(rows.getAttribute("data-events"));
          source.onopen = live;
          source.addEventListener("call", function (event) {
            var c;
            try { c = JSON.parse(event.data); } catch (e) { return; }
            if (!c || typeof c.id !== "string" || seen.has(c.id)) return;
            seen.add(c.id);
            rows.insertBefore(row(c), rows.firstChild);
            while (rows.rows.length > limit) {
              var last = rows.lastElementChild;
              seen.delete(last.getAttribute("data-id"));
              rows.removeChild(last);
            }
            if (empty) empty.hidden = true;
          });
          source.addEventListener("dropped", function (event) {
            try { missed += JSON.parse(event.data).dropped || 0; } catch (e) { return; }
            live();
          });
          source.onerror = function () {
            if (source.readyState === EventSource.CLOSED) {
              say("stopped", "Live updates stopped: the gateway refused the stream (the session ended, too many live viewers, or the live view is off). Reload the page to try again.");
            } else {
              say("waiting", "Reconnecting…");
            }
          };
        })();
        """#
}
