// The agent console: queues, a ticket's conversation, replies and notes, field changes with If-Match, live updates.
//
// Everything a ticket, a comment or an agent says is put on the page as text (textContent, Text nodes, or the DOM
// nodes markdown.js builds): never as HTML. The page's Content-Security-Policy refuses HTML sinks anyway.

import { ApiError, onUnauthorized, path, request, session, uploadFile } from "./api.js";
import { Live } from "./live.js";
import { renderMarkdown } from "./markdown.js";

const UNFINISHED = ["new", "open", "in_progress", "pending", "on_hold"];
const STATUSES = [...UNFINISHED, "resolved", "closed"];
const PRIORITIES = ["low", "medium", "high", "urgent", "critical"];
const LABELS = {
  new: "New", open: "Open", in_progress: "In progress", pending: "Pending", on_hold: "On hold", resolved: "Resolved",
  closed: "Closed", low: "Low", medium: "Medium", high: "High", urgent: "Urgent", critical: "Critical",
};
const PAGE_SIZE = 50;
const CATCH_UP_MARGIN_MS = 10_000; // pushes of different tickets are not ordered: look back a little further
const CATCH_UP_PAGES = 20;
const COMMENT_PAGES = 20;
const SEEN_EVENTS_KEPT = 2000;
const NOTICE_MS = 15_000;

const QUEUES = {
  mine: {
    title: "Mine",
    query: () => ({ assigneeId: "me", status: UNFINISHED.join(",") }),
    match: (t) => Boolean(state.agentId) && t.assigneeId === state.agentId && UNFINISHED.includes(t.status),
  },
  unassigned: {
    title: "Unassigned",
    query: () => ({ assigneeId: "none", status: UNFINISHED.join(",") }),
    match: (t) => !t.assigneeId && UNFINISHED.includes(t.status),
  },
  open: {
    title: "All open",
    query: () => ({ status: UNFINISHED.join(",") }),
    match: (t) => UNFINISHED.includes(t.status),
  },
};

const $ = (id) => document.getElementById(id);

/** An element; `props.text` is its text (textContent), other props are attributes. Children are nodes or text. */
function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "text") node.textContent = String(value);
    else if (name === "class") node.className = value;
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children) if (child !== null && child !== undefined) node.append(child);
  return node;
}

function freshState() {
  return {
    me: null,
    agentId: null,
    scopes: new Set(),
    agents: null, // [{id, name, ...}] when the key may list agents
    queue: "mine",
    tickets: new Map(), // id -> what we know of it (the highest version wins)
    loaded: { queue: null, cursor: null },
    counts: {},
    open: null, // {ticket, comments}
    openId: null,
    saving: false,
    seenEvents: new Set(),
    noticed: new Set(),
    unread: new Set(),
    drafts: new Map(),
    syncedAt: null, // server time of the last full read (initial load or catch-up)
    lastPushAt: null, // `at` of the newest push
    live: null,
    generation: 0,
  };
}

let state = freshState();

// ------------------------------------------------------------------------------------------------ formatting

function label(value) {
  return LABELS[value] || String(value ?? "");
}

function badge(kind, value) {
  return el("span", { class: `badge ${kind}-${value}`, text: label(value) });
}

function relative(iso) {
  const at = Date.parse(iso);
  if (Number.isNaN(at)) return "";
  const minutes = Math.round((Date.now() - at) / 60000);
  if (minutes < 1) return "just now";
  if (minutes < 60) return `${minutes} min ago`;
  if (minutes < 24 * 60) return `${Math.round(minutes / 60)} h ago`;
  return new Date(at).toLocaleDateString(undefined, { day: "numeric", month: "short" });
}

function when(iso) {
  const at = Date.parse(iso);
  return Number.isNaN(at) ? "" : new Date(at).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

function timeEl(iso, text) {
  return el("time", { datetime: iso, title: when(iso), text: text ?? when(iso) });
}

function size(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${Math.round(bytes / 1024)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

function agentName(id) {
  if (!id) return "Unassigned";
  if (id === state.agentId) return "Me";
  const agent = (state.agents || []).find((a) => a.id === id);
  if (agent) return agent.name;
  for (const t of state.tickets.values()) if (t.assignee?.id === id && t.assignee.name) return t.assignee.name;
  return "Another agent";
}

function explain(error) {
  if (!(error instanceof ApiError)) return "Something went wrong. Try again.";
  if (error.code === "TICKET_CLOSED") return "This ticket is closed: it takes no more changes.";
  if (error.code === "INSUFFICIENT_SCOPE") return `Your key may not do this (${error.message}).`;
  if (error.status === 0) return error.message;
  return error.message;
}

// ------------------------------------------------------------------------------------------------ what we know

/** The fields a list row needs, from a full ticket or a push's thin ticket. */
function summary(t) {
  const out = {
    id: t.id, reference: t.reference, subject: t.subject, status: t.status, priority: t.priority,
    assigneeId: t.assigneeId ?? null, version: t.version, updatedAt: t.updatedAt,
  };
  if ("assignee" in t) out.assignee = t.assignee;
  if ("customer" in t) out.who = t.customer?.name || t.requester?.name || t.requester?.email || null;
  return out;
}

/** Keep the newer of what we had and `t` (by version); true when `t` changed what we know. */
function upsert(t) {
  const known = state.tickets.get(t.id);
  if (known && known.version > t.version) return false;
  const merged = { ...(known || {}), ...summary(t) };
  if (known && known.assigneeId !== merged.assigneeId && !("assignee" in t)) delete merged.assignee;
  state.tickets.set(t.id, merged);
  return !known || known.version < t.version;
}

function seen(eventId) {
  if (state.seenEvents.has(eventId)) return true;
  state.seenEvents.add(eventId);
  if (state.seenEvents.size > SEEN_EVENTS_KEPT) state.seenEvents.delete(state.seenEvents.values().next().value);
  return false;
}

function can(scope) {
  return state.scopes.has(scope);
}

// ------------------------------------------------------------------------------------------------ sign in and out

function showSignIn(message = "") {
  $("app").hidden = true;
  $("signin").hidden = false;
  $("signin-error").textContent = message;
  $("signin-key").value = "";
  $("signin-submit").disabled = false;
  $("signin-key").focus();
}

function signOut(message = "") {
  state.live?.stop();
  session.clear();
  state = freshState();
  for (const id of ["tickets", "t-thread", "notices", "c-file-list"]) $(id).replaceChildren();
  for (const id of ["tenant", "agent", "ticket-title", "t-ref", "t-channel", "t-created", "t-customer"]) $(id).textContent = "";
  $("c-body").value = "";
  $("ticket-view").hidden = true;
  $("ticket-empty").hidden = false;
  document.title = "Agent console";
  showSignIn(message);
}

onUnauthorized(() => {
  if (session.key()) signOut("Your key is no longer valid (unknown or revoked). Sign in again.");
});

async function signIn(event) {
  event.preventDefault();
  const key = $("signin-key").value.trim();
  const error = $("signin-error");
  if (!/^tk_[A-Za-z0-9_-]{16,}$/.test(key)) {
    error.textContent = "That is not an API key: keys start with tk_ and have no spaces.";
    $("signin-key").focus();
    return;
  }
  $("signin-submit").disabled = true;
  error.textContent = "";
  try {
    const { data: me } = await request("GET", "/v1/me", { key });
    session.save(key);
    $("signin-key").value = "";
    await start(me);
  } catch (e) {
    $("signin-submit").disabled = false;
    error.textContent = e.status === 401 ? "This key is unknown or has been revoked." : explain(e);
    $("signin-key").focus();
  }
}

async function start(me) {
  const generation = ++state.generation;
  state.me = me;
  state.agentId = me.agent?.id || null;
  state.scopes = new Set(me.key?.scopes || []);
  state.queue = state.agentId ? "mine" : "open";
  $("signin").hidden = true;
  $("app").hidden = false;
  $("tenant").textContent = me.tenant?.name || "";
  $("agent").textContent = me.agent ? `${me.agent.name} · ${me.agent.level}` : "No agent";
  $("no-agent").hidden = Boolean(state.agentId);
  document.querySelector('[data-queue="mine"]').disabled = !state.agentId;
  fillSelect($("t-status"), STATUSES.map((s) => [s, label(s)]));
  fillSelect($("t-priority"), PRIORITIES.map((p) => [p, label(p)]));
  fillSelect($("c-status"), [["", "no change"], ...STATUSES.filter((s) => s !== "new").map((s) => [s, label(s)])]);
  $("c-status").hidden = $("c-status").previousElementSibling.hidden = !can("tickets:status");
  selectQueue(state.queue, { focus: false, load: false });
  if (can("agents:read")) {
    request("GET", "/v1/agents", { query: { limit: 100 } })
      .then(({ data }) => {
        if (generation !== state.generation) return;
        state.agents = data.data;
        renderList();
        if (state.open) renderFields();
      })
      .catch(() => {});
  }
  try {
    await Promise.all([loadQueue(state.queue), refreshCounts()]);
  } catch (e) {
    if (generation === state.generation) showListError(e);
  }
  if (generation !== state.generation) return;
  state.live = new Live({
    url: async () => (await request("POST", "/v1/realtime/tokens")).data.url,
    onPush,
    onOpen: () => catchUp().catch(() => {}),
    onState: showLive,
  });
  state.live.start();
  document.querySelector(`[data-queue="${state.queue}"]`).focus();
}

// ------------------------------------------------------------------------------------------------ queues

function selectQueue(name, { focus = true, load = true } = {}) {
  state.queue = name;
  for (const button of document.querySelectorAll(".queue")) {
    if (button.dataset.queue === name) button.setAttribute("aria-current", "true");
    else button.removeAttribute("aria-current");
  }
  $("list-title").textContent = QUEUES[name].title;
  renderList();
  if (!load) return;
  loadQueue(name)
    .then(() => focus && focusRow(0))
    .catch(showListError);
}

async function loadQueue(name, { more = false } = {}) {
  const generation = state.generation;
  const query = { ...QUEUES[name].query(), sort: "-updatedAt", limit: PAGE_SIZE };
  if (more) query.cursor = state.loaded.cursor;
  const { data, serverTime } = await request("GET", "/v1/tickets", { query });
  if (generation !== state.generation) return;
  data.data.forEach(upsert);
  if (!more) state.syncedAt = Math.max(state.syncedAt || 0, serverTime);
  state.counts[name] = data.total;
  if (name === state.queue) state.loaded = { queue: name, cursor: data.nextCursor };
  $("list-error").hidden = true;
  renderCounts();
  renderList();
}

async function refreshCounts() {
  const generation = state.generation;
  const names = Object.keys(QUEUES).filter((name) => name !== "mine" || state.agentId);
  const answers = await Promise.all(
    names.map((name) => request("GET", "/v1/tickets", { query: { ...QUEUES[name].query(), limit: 1 } })),
  );
  if (generation !== state.generation) return;
  names.forEach((name, i) => (state.counts[name] = answers[i].data.total));
  renderCounts();
}

let countsTimer = null;
function scheduleCounts() {
  clearTimeout(countsTimer);
  countsTimer = setTimeout(() => refreshCounts().catch(() => {}), 400);
}

function renderCounts() {
  for (const name of Object.keys(QUEUES)) {
    const count = state.counts[name];
    const node = document.querySelector(`[data-count="${name}"]`);
    node.textContent = count === undefined ? "–" : String(count);
  }
  const mine = state.counts.mine;
  document.title = mine ? `(${mine}) Agent console` : "Agent console";
}

function showListError(error) {
  $("list-error").textContent = `The list could not be loaded: ${explain(error)}`;
  $("list-error").hidden = false;
}

function renderList() {
  const list = $("tickets");
  const focused = document.activeElement?.closest?.("#tickets .row")?.dataset.id;
  const queue = QUEUES[state.queue];
  const rows = [...state.tickets.values()]
    .filter(queue.match)
    .sort((a, b) => String(b.updatedAt).localeCompare(String(a.updatedAt)) || String(b.id).localeCompare(String(a.id)));
  list.replaceChildren(...rows.map(row));
  $("list-empty").hidden = rows.length > 0;
  $("more").hidden = !(state.loaded.queue === state.queue && state.loaded.cursor);
  if (focused) list.querySelector(`.row[data-id="${CSS.escape(focused)}"]`)?.focus();
}

function row(t) {
  const current = t.id === state.openId;
  const unread = state.unread.has(t.id);
  const button = el(
    "button",
    { type: "button", class: `row${unread ? " unread" : ""}`, "data-id": t.id, "aria-current": current ? "true" : null },
    el("span", { class: "row-top" },
      el("span", { class: "ref", text: t.reference }),
      badge("priority", t.priority),
      unread ? el("span", { class: "new-dot", text: "New" }) : null,
      el("span", { class: "row-time" }, timeEl(t.updatedAt, relative(t.updatedAt)))),
    el("span", { class: "row-subject", text: t.subject }),
    el("span", { class: "row-bottom" },
      badge("status", t.status),
      el("span", { class: "row-assignee", text: agentName(t.assigneeId) }),
      t.who ? el("span", { class: "row-who", text: t.who }) : null),
  );
  return el("li", {}, button);
}

function focusRow(index) {
  const rows = [...$("tickets").querySelectorAll(".row")];
  rows[Math.max(0, Math.min(rows.length - 1, index))]?.focus();
}

// ------------------------------------------------------------------------------------------------ the open ticket

function fillSelect(select, options) {
  select.replaceChildren(...options.map(([value, text]) => el("option", { value, text })));
}

async function loadComments(id) {
  const comments = [];
  let cursor = null;
  for (let page = 0; page < COMMENT_PAGES; page += 1) {
    const { data } = await request("GET", path`/v1/tickets/${id}/comments`, { query: { limit: 100, cursor } });
    comments.push(...data.data);
    cursor = data.nextCursor;
    if (!cursor) break;
  }
  return comments;
}

async function openTicket(id, { focus = true } = {}) {
  if (state.openId && state.openId !== id) state.drafts.set(state.openId, $("c-body").value);
  state.openId = id;
  state.unread.delete(id);
  hideAlert();
  hideStale();
  $("c-error").textContent = "";
  renderList();
  try {
    await refreshOpen();
  } catch (e) {
    if (state.openId !== id) return;
    if (e.status === 404) {
      state.tickets.delete(id);
      closeTicket({ focusList: false });
      notify(`That ticket no longer exists.`, { kind: "warn" });
      renderList();
    } else {
      showAlert(`The ticket could not be loaded: ${explain(e)}`);
    }
    return;
  }
  if (state.openId !== id) return;
  $("c-body").value = state.drafts.get(id) || "";
  if (focus) $("ticket-title").focus();
}

/** Read the open ticket and its conversation again, and show them. */
async function refreshOpen() {
  const id = state.openId;
  const generation = state.generation;
  const [{ data: ticket }, comments] = await Promise.all([request("GET", path`/v1/tickets/${id}`), loadComments(id)]);
  if (generation !== state.generation || state.openId !== id) return;
  state.open = { ticket, comments };
  upsert(ticket);
  hideStale();
  renderTicket();
  renderList();
}

function closeTicket({ focusList = true } = {}) {
  const id = state.openId;
  if (id) state.drafts.set(id, $("c-body").value);
  state.openId = null;
  state.open = null;
  $("ticket-view").hidden = true;
  $("ticket-empty").hidden = false;
  $("t-thread").replaceChildren();
  renderList();
  if (focusList) $("tickets").querySelector(`.row[data-id="${CSS.escape(id || "")}"]`)?.focus();
}

function renderTicket() {
  const { ticket } = state.open;
  $("ticket-empty").hidden = true;
  $("ticket-view").hidden = false;
  $("t-ref").textContent = ticket.reference;
  $("t-channel").textContent = `via ${ticket.channel}`;
  $("t-created").replaceChildren("opened ", timeEl(ticket.createdAt, relative(ticket.createdAt)));
  $("ticket-title").textContent = ticket.subject;
  const who = ticket.customer || ticket.requester;
  $("t-customer").textContent = who ? [who.name, who.email && `<${who.email}>`].filter(Boolean).join(" ") : "No customer";
  renderFields();
  renderThread();
  renderComposer();
}

function renderFields() {
  const { ticket } = state.open;
  $("t-status").value = ticket.status;
  $("t-priority").value = ticket.priority;
  const options = [["", "Unassigned"]];
  if (state.agents) {
    for (const a of state.agents) options.push([a.id, `${a.name}${a.id === state.agentId ? " (me)" : ""} · ${a.level}${a.available ? "" : " · away"}`]);
  } else {
    if (state.agentId) options.push([state.agentId, `${state.me.agent.name} (me)`]);
    if (ticket.assigneeId && ticket.assigneeId !== state.agentId) options.push([ticket.assigneeId, ticket.assignee?.name || "Another agent"]);
  }
  if (ticket.assigneeId && !options.some(([value]) => value === ticket.assigneeId)) {
    options.push([ticket.assigneeId, ticket.assignee?.name || "Another agent"]);
  }
  fillSelect($("t-assignee"), options);
  $("t-assignee").value = ticket.assigneeId || "";
  const closed = ticket.status === "closed";
  $("t-status").disabled = state.saving || closed || !can("tickets:status") || !can("tickets:write");
  $("t-priority").disabled = state.saving || closed || !can("tickets:write");
  $("t-assignee").disabled = state.saving || closed || !can("tickets:write");
}

function message(kind, author, at, body, extra = []) {
  const labels = { note: "Internal note", reply: "Public reply", inbound: "Customer", description: "Request" };
  return el("li", { class: `message ${kind}` },
    el("div", { class: "message-head" },
      el("span", { class: "author", text: author }),
      el("span", { class: `mtype mtype-${kind}`, text: labels[kind] }),
      timeEl(at)),
    el("div", { class: "message-body" }, renderMarkdown(body)),
    ...extra);
}

function renderThread() {
  const { ticket, comments } = state.open;
  const thread = $("t-thread");
  const items = [];
  const requester = ticket.customer?.name || ticket.requester?.name || ticket.requester?.email || "Customer";
  if (ticket.description) items.push(message("description", requester, ticket.createdAt, ticket.description));
  for (const c of comments) {
    const internal = c.visibility === "internal";
    const inbound = c.direction === "inbound" || ["customer", "requester"].includes(c.author?.type);
    const kind = internal ? "note" : inbound ? "inbound" : "reply";
    const extra = [];
    if (!internal && c.direction === "outbound" && c.to?.length) {
      extra.push(el("p", { class: "message-note", text: `Emailed to ${c.to.join(", ")}` }));
    }
    if (c.attachments?.length) extra.push(attachmentList(c.attachments));
    items.push(message(kind, c.author?.name || c.author?.email || "Unknown", c.createdAt, c.body, extra));
  }
  if (!items.length) items.push(el("li", { class: "thread-empty", text: "No messages yet." }));
  thread.replaceChildren(...items);
  const scroller = thread.closest(".conversation");
  scroller.scrollTop = scroller.scrollHeight;
}

function attachmentList(attachments) {
  return el("ul", { class: "attachments", "aria-label": "Attachments" },
    ...attachments.map((a) => el("li", {},
      el("button", { type: "button", class: "attachment", "data-attachment": a.id, "aria-label": `Download ${a.filename}` },
        el("span", { class: "filename", text: a.filename }),
        el("span", { class: "filesize", text: size(a.size) }),
        el("span", { class: "action", "aria-hidden": "true", text: "Download" })))));
}

async function download(attachmentId, button) {
  button.disabled = true;
  try {
    const { data } = await request("GET", path`/v1/attachments/${attachmentId}`);
    if (!data.downloadUrl) throw new ApiError(409, { detail: "This file cannot be downloaded (it is not ready)." });
    // A presigned URL of the private bucket that forces `Content-Disposition: attachment`: a download, not a page.
    const a = el("a", { href: data.downloadUrl, rel: "noopener noreferrer", download: "" });
    document.body.append(a);
    a.click();
    a.remove();
  } catch (e) {
    notify(`The file could not be downloaded: ${explain(e)}`, { kind: "warn" });
  } finally {
    button.disabled = false;
  }
}

// ------------------------------------------------------------------------------------------------ changes

async function changeField(field, value) {
  const ticket = state.open?.ticket;
  if (!ticket || state.saving) return;
  const sent = field === "assigneeId" ? value || null : value;
  if ((ticket[field] ?? null) === sent) return;
  state.saving = true;
  hideAlert();
  $("t-saving").textContent = "Saving…";
  renderFields();
  try {
    const { data } = await request("PATCH", path`/v1/tickets/${ticket.id}`, {
      body: { [field]: sent },
      headers: { "If-Match": `"${ticket.version}"` },
    });
    if (state.open?.ticket.id !== ticket.id) return;
    state.open.ticket = data;
    upsert(data);
    hideStale();
    $("t-saving").textContent = "Saved";
    setTimeout(() => ($("t-saving").textContent === "Saved" ? ($("t-saving").textContent = "") : null), 2000);
    scheduleCounts();
  } catch (e) {
    $("t-saving").textContent = "";
    if (e.status === 412) await conflict(ticket, field);
    else showAlert(`Not saved: ${explain(e)}`);
  } finally {
    state.saving = false;
    if (state.open?.ticket.id === ticket.id) {
      renderFields();
      renderList();
    }
  }
}

/** Someone changed the ticket since we read it: say so, never overwrite, and show what it is now. */
async function conflict(ticket, field) {
  const names = { status: "status", priority: "priority", assigneeId: "assignee" };
  let now = null;
  try {
    await refreshOpen();
    now = state.open?.ticket.version;
  } catch {
    // the message below still stands
  }
  showAlert(
    `Not saved: ${ticket.reference} was changed by someone else while you had it open ` +
      `(you saw version ${ticket.version}${now ? `, it is now version ${now}` : ""}). ` +
      `The ticket below is the current one: change the ${names[field]} again if it still applies.`,
  );
}

function showAlert(text) {
  $("t-alert-text").textContent = text;
  $("t-alert").hidden = false;
}

function hideAlert() {
  $("t-alert").hidden = true;
  $("t-alert-text").textContent = "";
}

function showStale(push) {
  const fields = (push.changes || []).map((f) => ({ assigneeId: "assignee" })[f] || f);
  const what = push.type === "ticket.status_changed" ? `status is now ${label(push.ticket.status)}` :
    push.type === "ticket.assigned" ? `assigned to ${agentName(push.ticket.assigneeId)}` :
    fields.length ? `${fields.join(", ")} changed` : "it changed";
  $("t-stale-text").textContent = `Changed elsewhere: ${what}.`;
  $("t-stale").hidden = false;
}

function hideStale() {
  $("t-stale").hidden = true;
}

function renderComposer() {
  const { ticket } = state.open;
  const internal = document.querySelector('input[name="kind"]:checked').value === "internal";
  const closed = ticket.status === "closed";
  const composer = $("composer");
  composer.classList.toggle("internal", internal);
  const email = ticket.customer?.email || ticket.requester?.email;
  $("c-body-label").textContent = internal ? "Internal note (agents only)" : "Reply to the customer";
  $("c-body").placeholder = closed ? "This ticket is closed." : internal ? "Write an internal note: only agents see it…" :
    `Reply to ${ticket.customer?.name || ticket.requester?.name || "the customer"}…`;
  $("c-help").replaceChildren(
    internal ? "Only agents see notes. " : email ? `Emailed to ${email}. ` : "Not emailed (no address). ",
    el("kbd", { text: "Ctrl" }), "+", el("kbd", { text: "Enter" }), " sends.");
  $("c-send").textContent = internal ? "Add note" : "Send reply";
  const off = closed || !can("tickets:write");
  for (const id of ["c-body", "c-files", "c-send", "c-status"]) $(id).disabled = off;
}

async function send(event) {
  event.preventDefault();
  const ticket = state.open?.ticket;
  if (!ticket) return;
  const body = $("c-body").value.trim();
  const error = $("c-error");
  const files = [...$("c-files").files];
  if (!body) {
    error.textContent = "Write something first.";
    $("c-body").focus();
    return;
  }
  const visibility = document.querySelector('input[name="kind"]:checked').value;
  const status = $("c-status").value;
  error.textContent = "";
  $("c-send").disabled = true;
  try {
    const attachmentIds = [];
    for (const [i, file] of files.entries()) {
      $("c-send").textContent = `Uploading ${i + 1}/${files.length}…`;
      attachmentIds.push((await uploadFile(file)).id);
    }
    $("c-send").textContent = "Sending…";
    const payload = { body, visibility };
    if (attachmentIds.length) payload.attachmentIds = attachmentIds;
    if (status) payload.status = status;
    await request("POST", path`/v1/tickets/${ticket.id}/comments`, { body: payload });
    $("c-body").value = "";
    $("c-files").value = "";
    $("c-status").value = "";
    $("c-file-list").replaceChildren();
    state.drafts.delete(ticket.id);
    notify(visibility === "internal" ? `Note added to ${ticket.reference}.` : `Reply sent on ${ticket.reference}.`);
    if (state.openId === ticket.id) await refreshOpen();
    scheduleCounts();
  } catch (e) {
    error.textContent = `Not sent: ${explain(e)}`;
  } finally {
    if (state.open) renderComposer();
    $("c-send").disabled = !state.open || state.open.ticket.status === "closed";
  }
}

// ------------------------------------------------------------------------------------------------ live

function onPush(push) {
  if (!push.ticket || typeof push.ticket.id !== "string" || typeof push.eventId !== "string") return;
  if (seen(push.eventId)) return;
  const at = Date.parse(push.at);
  if (!Number.isNaN(at)) state.lastPushAt = Math.max(state.lastPushAt || 0, at);
  const t = push.ticket;
  const before = state.tickets.get(t.id);
  if (push.type === "ticket.deleted") {
    state.tickets.delete(t.id);
    recount(before, null);
    if (state.openId === t.id) {
      closeTicket({ focusList: false });
      notify(`${t.reference} was deleted.`, { kind: "warn" });
    }
    renderList();
    scheduleCounts();
    return;
  }
  const newer = upsert(t);
  if (newer) recount(before, state.tickets.get(t.id));
  const mineNow = push.forYou && state.agentId && t.assigneeId === state.agentId;
  if (mineNow && (push.type === "ticket.assigned" || push.type === "ticket.created")) assignedToMe(t);
  if (newer && state.openId === t.id && state.open && t.version > state.open.ticket.version && !state.saving) {
    // A new message: show it (nothing of ours is at stake). A changed field: say so, and let the agent decide.
    if (push.type === "comment.created") refreshOpen().catch(() => {});
    else showStale(push);
  }
  renderList();
  scheduleCounts();
}

/** Move the counts at once by what a push changed (a ticket entering or leaving a queue); the server's totals follow
 * shortly (scheduleCounts) and correct whatever we could not know. */
function recount(before, after) {
  for (const [name, queue] of Object.entries(QUEUES)) {
    const delta = (after && queue.match(after) ? 1 : 0) - (before && queue.match(before) ? 1 : 0);
    if (delta && state.counts[name] !== undefined) state.counts[name] = Math.max(0, state.counts[name] + delta);
  }
  renderCounts();
}

function assignedToMe(t) {
  const key = `${t.id}:${t.assigneeId}`;
  if (state.noticed.has(key)) return;
  state.noticed.add(key);
  if (state.openId !== t.id) state.unread.add(t.id);
  notify(`Assigned to you: ${t.reference} · ${t.subject}`, { ticketId: t.id, kind: "assigned" });
}

/** Read what changed while the socket was closed (and since the last full read), oldest first, by version. */
async function catchUp() {
  const generation = state.generation;
  const from = Math.max(state.syncedAt || 0, state.lastPushAt || 0) - CATCH_UP_MARGIN_MS;
  if (from <= 0) return;
  let cursor = null;
  let serverTime = null;
  for (let page = 0; page < CATCH_UP_PAGES; page += 1) {
    const answer = await request("GET", "/v1/tickets", {
      query: { sort: "updatedAt", updatedSince: new Date(from).toISOString(), limit: 100, cursor },
    });
    if (generation !== state.generation) return;
    serverTime ??= answer.serverTime;
    for (const t of answer.data.data) {
      const before = state.tickets.get(t.id);
      const newer = upsert(t);
      if (newer && state.agentId && t.assigneeId === state.agentId && before && before.assigneeId !== state.agentId) {
        assignedToMe(t);
      } else if (newer && !before && state.agentId && t.assigneeId === state.agentId && UNFINISHED.includes(t.status)) {
        assignedToMe(t);
      }
      if (newer && state.openId === t.id && state.open && t.version > state.open.ticket.version) {
        showStale({ type: "ticket.updated", ticket: t, changes: [] });
      }
    }
    cursor = answer.data.nextCursor;
    if (!cursor) break;
  }
  state.syncedAt = Math.max(state.syncedAt || 0, serverTime || 0);
  renderList();
  await refreshCounts();
  if (cursor) await loadQueue(state.queue); // more changed than a catch-up reads: the list starts afresh
}

let liveTimer = null;
function showLive(kind, detail = {}) {
  const node = $("live");
  clearInterval(liveTimer);
  node.dataset.state = kind;
  if (kind === "live") node.textContent = "Live";
  else if (kind === "connecting") node.textContent = "Connecting…";
  else if (kind === "stopped") node.textContent = "";
  else if (kind === "waiting") {
    const tick = () => {
      const seconds = Math.max(0, Math.ceil((detail.retryAt - Date.now()) / 1000));
      node.textContent = detail.offline ? "Offline: waiting for the network" : `Reconnecting in ${seconds} s`;
    };
    tick();
    liveTimer = setInterval(tick, 1000);
  }
}

// ------------------------------------------------------------------------------------------------ notices

function notify(text, { ticketId = null, kind = "info" } = {}) {
  const notices = $("notices");
  const notice = el("div", { class: `notice ${kind}` }, el("p", { text }));
  const actions = el("div", { class: "notice-actions" });
  if (ticketId) {
    actions.append(el("button", { type: "button", class: "small", "data-open": ticketId, text: "Open" }));
  }
  actions.append(el("button", { type: "button", class: "quiet small", "data-dismiss": "", "aria-label": "Dismiss", text: "✕" }));
  notice.append(actions);
  notices.append(notice);
  while (notices.children.length > 4) notices.firstElementChild.remove();
  const expire = () => {
    if (notice.contains(document.activeElement)) setTimeout(expire, 3000);
    else notice.remove();
  };
  setTimeout(expire, NOTICE_MS);
}

// ------------------------------------------------------------------------------------------------ wiring

function onKeydown(event) {
  if (event.key === "Escape") {
    const notice = event.target.closest?.(".notice");
    if (notice) {
      notice.remove();
      $("tickets").querySelector(".row")?.focus();
      return;
    }
    if (!$("t-alert").hidden && $("t-alert").contains(event.target)) {
      hideAlert();
      $("ticket-title").focus();
      return;
    }
    if (event.target.id === "c-body" && $("c-body").value.trim()) {
      $("c-body").blur();
      $("ticket-title").focus();
      return;
    }
    if (state.openId) {
      event.preventDefault();
      closeTicket();
    } else if ($("notices").lastElementChild) {
      $("notices").lastElementChild.remove();
    }
  }
}

function onListKeydown(event) {
  const rows = [...$("tickets").querySelectorAll(".row")];
  const index = rows.indexOf(document.activeElement);
  if (index < 0) return;
  const moves = { ArrowDown: index + 1, ArrowUp: index - 1, Home: 0, End: rows.length - 1 };
  if (event.key in moves) {
    event.preventDefault();
    focusRow(moves[event.key]);
  }
}

function wire() {
  $("signin-form").addEventListener("submit", signIn);
  $("signout").addEventListener("click", () => signOut());
  for (const button of document.querySelectorAll(".queue")) {
    button.addEventListener("click", () => selectQueue(button.dataset.queue, { focus: false }));
  }
  $("refresh").addEventListener("click", () => {
    Promise.all([loadQueue(state.queue), refreshCounts()]).catch(showListError);
    state.live?.reconnectNow();
  });
  $("more").addEventListener("click", () => loadQueue(state.queue, { more: true }).catch(showListError));
  $("tickets").addEventListener("click", (event) => {
    const button = event.target.closest(".row");
    if (button) openTicket(button.dataset.id);
  });
  $("tickets").addEventListener("keydown", onListKeydown);
  $("t-close").addEventListener("click", () => closeTicket());
  $("t-alert-dismiss").addEventListener("click", () => {
    hideAlert();
    $("ticket-title").focus();
  });
  $("t-stale-reload").addEventListener("click", () => {
    refreshOpen().catch((e) => showAlert(`The ticket could not be loaded: ${explain(e)}`));
    $("ticket-title").focus();
  });
  $("t-fields").addEventListener("submit", (event) => event.preventDefault());
  $("t-status").addEventListener("change", (event) => changeField("status", event.target.value));
  $("t-priority").addEventListener("change", (event) => changeField("priority", event.target.value));
  $("t-assignee").addEventListener("change", (event) => changeField("assigneeId", event.target.value));
  $("t-thread").addEventListener("click", (event) => {
    const button = event.target.closest("[data-attachment]");
    if (button) download(button.dataset.attachment, button);
  });
  $("composer").addEventListener("submit", send);
  $("composer").addEventListener("change", (event) => {
    if (event.target.name === "kind" && state.open) renderComposer();
    if (event.target.id === "c-files") {
      $("c-file-list").replaceChildren(
        ...[...event.target.files].map((f) => el("li", { text: `${f.name} (${size(f.size)})` })));
    }
  });
  $("c-body").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      $("composer").requestSubmit();
    }
  });
  $("notices").addEventListener("click", (event) => {
    const notice = event.target.closest(".notice");
    const open = event.target.closest("[data-open]");
    if (open) openTicket(open.dataset.open);
    if (open || event.target.closest("[data-dismiss]")) notice?.remove();
  });
  document.addEventListener("keydown", onKeydown);
  setInterval(() => {
    if (!$("app").hidden) renderList();
  }, 60_000);
}

async function boot() {
  wire();
  const key = session.key();
  if (!key) {
    showSignIn();
    return;
  }
  $("signin").hidden = true;
  try {
    const { data: me } = await request("GET", "/v1/me");
    await start(me);
  } catch (e) {
    if (e.status !== 401) showSignIn(`Could not sign in: ${explain(e)}`);
  }
}

boot();
