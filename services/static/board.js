// The board, live: applies the forum's Server-Sent Events to the page in place, with the
// same filters as the server's first render, and posts the workflow's forms without a reload.
"use strict";
(function () {
  const body = document.body;
  const state = document.getElementById("connection");
  const announcer = document.getElementById("announcer");
  const params = new URLSearchParams(location.search);
  const filters = {
    org: params.get("org") || "", region: (params.get("region") || "").toLowerCase(),
    kind: params.get("kind") || "", tlp: params.get("tlp") || "",
    words: (params.get("q") || "").toLowerCase().split(/\s+/).filter(Boolean),
  };
  const here = location.pathname + location.search;

  // the same test as services.api.board_page.Filters.matches
  function matches(item) {
    if (filters.org && item.org !== filters.org) return false;
    if (filters.kind && item.kind !== filters.kind) return false;
    if (filters.tlp && item.tlp !== filters.tlp) return false;
    if (filters.region && (item.region || "").toLowerCase() !== filters.region) return false;
    const text = [item.title, item.summary, item.org, item.region].filter(Boolean).join(" ").toLowerCase();
    return filters.words.every((w) => text.includes(w));
  }

  function setState(name, text) {
    state.dataset.state = name;
    state.textContent = text;
  }

  function announce(text) {
    announcer.textContent = "";
    window.setTimeout(() => { announcer.textContent = text; }, 50);
  }

  function node(html) {
    const t = document.createElement("template");
    t.innerHTML = html.trim();
    const el = t.content.firstElementChild;
    el.querySelectorAll('input[name="next"]').forEach((i) => { i.value = here; });
    const token = document.querySelector('input[name="_csrf_token"]');
    el.querySelectorAll('input[name="_csrf_token"]').forEach((i) => { if (!i.value && token) i.value = token.value; });
    return el;
  }

  function place(id, list, html, label) {
    const old = document.getElementById(id);
    const wasOpen = old && old.querySelector("details.act[open]");
    if (!list) { if (old) old.remove(); return; }
    const el = node(html);
    if (wasOpen) { const d = el.querySelector("details.act"); if (d) d.open = true; }
    if (old && old.parentElement === list) {
      old.replaceWith(el);
    } else {
      if (old) old.remove();
      list.prepend(el);
      el.classList.add("fresh");
      if (!old) announce("New on the board: " + label);
    }
  }

  function recount() {
    document.querySelectorAll("[data-list]").forEach((list) => {
      const section = list.closest("section");
      const cards = section.querySelectorAll("article.card").length;
      const count = section.querySelector(".count");
      if (count) count.textContent = String(cards);
      const empty = section.querySelector(".empty");
      if (empty) empty.hidden = cards > 0;
    });
  }

  function apply(change) {
    for (const item of change.items) {
      const list = matches(item) ? document.querySelector('[data-list="' + item.column + '"]') : null;
      place("item-" + item.id, list, item.html, item.title);
    }
    for (const d of change.decisions) {
      const list = document.querySelector('[data-list="decisions-' + (d.status === "open" ? "open" : "decided") + '"]');
      place("decision-" + d.id, list, d.html, "decision: " + d.question);
    }
    document.getElementById("position").textContent = String(change.position);
    body.dataset.position = String(change.position);
    recount();
    ages();
  }

  function ages() {
    const now = Date.now();
    document.querySelectorAll("time[data-age]").forEach((t) => {
      const s = (now - Date.parse(t.dateTime)) / 1000;
      t.textContent = s >= 86400 ? Math.floor(s / 86400) + " d ago" : s >= 3600 ? Math.floor(s / 3600) + " h ago"
        : s >= 60 ? Math.floor(s / 60) + " min ago" : "just now";
    });
  }

  function connect() {
    const source = new EventSource("/api/board/events?last_event_id=" + encodeURIComponent(body.dataset.position));
    source.addEventListener("ready", () => setState("live", "Live"));
    source.addEventListener("board", (e) => {
      setState("live", "Live");
      apply(JSON.parse(e.data));
    });
    source.onerror = () => setState(source.readyState === EventSource.CLOSED ? "lost" : "connecting",
      source.readyState === EventSource.CLOSED ? "Live updates lost: reload the page" : "Reconnecting…");
    window.addEventListener("pagehide", () => source.close());
  }

  function say(form, text, error) {
    const old = form.parentElement.querySelector(".toast");
    if (old) old.remove();
    const p = document.getElementById("toast").content.firstElementChild.cloneNode(true);
    p.textContent = text;
    if (error) { p.classList.add("error"); p.setAttribute("role", "alert"); }
    form.after(p);
  }

  // the workflow's forms: posted with their CSRF token, the answer shown beside the form;
  // the change itself comes back through the live feed (a past view or the archive reloads)
  document.addEventListener("submit", async (e) => {
    const form = e.target;
    if (!(form instanceof HTMLFormElement) || !form.action.includes("/forms/")) return;
    e.preventDefault();
    const button = form.querySelector("button[type=submit]");
    if (button) button.disabled = true;
    try {
      // url-encoded, the token also in the header: the CSRF check then reads no body
      const fields = new URLSearchParams(new FormData(form));
      const resp = await fetch(form.action, {
        method: "POST", body: fields, credentials: "same-origin",
        headers: { Accept: "application/json", "Idempotency-Key": crypto.randomUUID(),
                   "X-CSRFToken": fields.get("_csrf_token") || "" },
      });
      if (resp.ok) {
        say(form, "Done.", false);
        form.reset();
        if (body.dataset.live !== "true") location.reload();
      } else {
        let text = resp.status + " " + resp.statusText;
        try { const answer = await resp.json(); text = answer.detail || answer.title || text; } catch (_) { /* not JSON */ }
        say(form, "Not done: " + text, true);
      }
    } catch (err) {
      say(form, "Not sent: " + err, true);
    } finally {
      if (button) button.disabled = false;
    }
  });

  ages();
  window.setInterval(ages, 60000);
  if (body.dataset.live === "true") connect();
})();
