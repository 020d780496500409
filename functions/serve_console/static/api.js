// The API, from the console: same origin (no CORS), the agent's key in X-API-Key on every request.
//
// The key lives in sessionStorage only: this tab, until sign-out or the tab closes. Never in localStorage, a cookie
// or a URL. Any 401 signs out (the key is unknown or was revoked).

const STORAGE_KEY = "tickets.console.key";

export const session = {
  key() {
    try {
      return sessionStorage.getItem(STORAGE_KEY);
    } catch {
      return null;
    }
  },
  save(key) {
    sessionStorage.setItem(STORAGE_KEY, key);
  },
  clear() {
    try {
      sessionStorage.removeItem(STORAGE_KEY);
    } catch {
      // storage unavailable: nothing was kept
    }
  },
};

/** An answer other than 2xx, with the problem's `code` (or NETWORK when the API could not be reached). */
export class ApiError extends Error {
  constructor(status, problem) {
    super((problem && (problem.detail || problem.title)) || `The API answered ${status}.`);
    this.status = status;
    this.problem = problem || null;
    this.code = (problem && problem.code) || (status === 0 ? "NETWORK" : `HTTP_${status}`);
  }
}

let unauthorized = () => {};

/** What to do on any 401 (the console signs out). */
export function onUnauthorized(callback) {
  unauthorized = callback;
}

/** Path parts built from ids the API gave us: encoded all the same. */
export function path(strings, ...ids) {
  return strings.reduce((out, part, i) => out + part + (i < ids.length ? encodeURIComponent(ids[i]) : ""), "");
}

export async function request(method, url, { body, query, headers = {}, key = session.key() } = {}) {
  const target = new URL(url, window.location.origin);
  for (const [name, value] of Object.entries(query || {})) {
    if (value !== undefined && value !== null && value !== "") target.searchParams.set(name, String(value));
  }
  const init = {
    method,
    headers: { Accept: "application/json", ...headers },
    cache: "no-store",
    credentials: "omit",
    redirect: "error",
  };
  if (key) init.headers["X-API-Key"] = key;
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers["Content-Type"] = "application/json";
  }
  let response;
  try {
    response = await fetch(target, init);
  } catch {
    throw new ApiError(0, { detail: "The API cannot be reached: check your connection and try again." });
  }
  const text = await response.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (response.status === 401) {
    unauthorized();
    throw new ApiError(401, data);
  }
  if (!response.ok) throw new ApiError(response.status, data);
  const date = Date.parse(response.headers.get("Date") || "");
  return { data, etag: response.headers.get("ETag"), serverTime: Number.isNaN(date) ? Date.now() : date };
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * One file as an attachment: ask for an upload, POST the file straight to the bucket with the presigned form, then
 * wait until the API has checked it. Resolves to the ready attachment; rejects with an ApiError saying why not.
 */
export async function uploadFile(file) {
  const { data: attachment } = await request("POST", "/v1/attachments", {
    body: { filename: file.name, contentType: file.type || "application/octet-stream", size: file.size },
  });
  const form = new FormData();
  for (const [name, value] of Object.entries(attachment.upload.fields)) form.append(name, value);
  form.append("file", file);
  let stored;
  try {
    stored = await fetch(attachment.upload.url, { method: "POST", body: form, credentials: "omit", cache: "no-store" });
  } catch {
    throw new ApiError(0, { detail: `${file.name} could not be uploaded: the storage cannot be reached.` });
  }
  if (!stored.ok) throw new ApiError(stored.status, { detail: `${file.name} was refused by the storage (${stored.status}).` });
  for (let attempt = 0; attempt < 40; attempt += 1) {
    const { data } = await request("GET", path`/v1/attachments/${attachment.id}`);
    if (data.state === "ready") return data;
    if (data.state === "rejected") {
      throw new ApiError(400, { detail: `${file.name} was refused: ${data.rejectedReason || "not an allowed type of file"}.` });
    }
    await sleep(Math.min(1500, 200 * (attempt + 1)));
  }
  throw new ApiError(504, { detail: `${file.name} is still being checked: try sending again in a moment.` });
}
