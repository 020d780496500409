// The real-time channel (README "Real-time channel"): a WebSocket opened with a single-use token, kept alive with a
// ping every 5 minutes (API Gateway closes a connection idle for 10), reopened with exponential backoff and jitter
// whenever it closes (a network blip, a deploy, API Gateway's 2-hour limit), and followed each time it opens by a
// catch-up (`onOpen`), so nothing that happened while it was closed is missed.

const PING_EVERY_MS = 5 * 60 * 1000;
const BACKOFF_FIRST_MS = 1000;
const BACKOFF_MAX_MS = 30 * 1000;

export class Live {
  /**
   * @param {object} hooks
   * @param {() => Promise<string>} hooks.url        a fresh WebSocket URL (POST /v1/realtime/tokens)
   * @param {(message: object) => void} hooks.onPush  each push, parsed
   * @param {() => void} hooks.onOpen                 the socket is open (catch up now)
   * @param {(state: string, detail?: object) => void} hooks.onState  connecting | live | waiting | stopped
   */
  constructor(hooks) {
    this.hooks = hooks;
    this.socket = null;
    this.failures = 0;
    this.retryTimer = null;
    this.pingTimer = null;
    this.stopped = true;
    this.connecting = false; // a token is being fetched
    this.onNetworkBack = () => this.reconnectNow();
  }

  start() {
    this.stopped = false;
    window.addEventListener("online", this.onNetworkBack);
    this.connect();
  }

  stop() {
    this.stopped = true;
    window.removeEventListener("online", this.onNetworkBack);
    clearTimeout(this.retryTimer);
    clearInterval(this.pingTimer);
    const socket = this.socket;
    this.socket = null;
    if (socket) socket.close(1000, "signed out");
    this.hooks.onState("stopped");
  }

  /** Reconnect at once (the network is back, or the user asked), unless a socket is open or opening. */
  reconnectNow() {
    if (this.stopped || this.socket || this.connecting) return;
    clearTimeout(this.retryTimer);
    this.connect();
  }

  async connect() {
    this.retryTimer = null;
    this.connecting = true;
    this.hooks.onState("connecting");
    let url;
    try {
      url = await this.hooks.url();
    } catch (error) {
      if (!this.stopped && error.status !== 401) this.retry(); // a 401 signs out (api.js)
      return;
    } finally {
      this.connecting = false;
    }
    if (this.stopped || this.socket) return;
    const socket = new WebSocket(url);
    this.socket = socket;
    socket.addEventListener("open", () => {
      if (this.socket !== socket) return;
      this.failures = 0;
      clearInterval(this.pingTimer);
      this.pingTimer = setInterval(() => this.send({ action: "ping" }), PING_EVERY_MS);
      this.hooks.onState("live");
      this.hooks.onOpen();
    });
    socket.addEventListener("message", (event) => {
      if (this.socket !== socket || typeof event.data !== "string") return;
      let message;
      try {
        message = JSON.parse(event.data);
      } catch {
        return;
      }
      if (!message || typeof message !== "object" || message.type === "pong") return;
      if (message.type === "error") {
        if (message.code === "UNKNOWN_CONNECTION") socket.close(4000, "unknown connection"); // reopen afresh
        return;
      }
      this.hooks.onPush(message);
    });
    socket.addEventListener("close", () => {
      if (this.socket !== socket) return;
      this.socket = null;
      clearInterval(this.pingTimer);
      if (!this.stopped) this.retry();
    });
  }

  send(message) {
    if (this.socket && this.socket.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(message));
  }

  /** Exponential backoff with equal jitter: 0.5-1 s, 1-2 s, 2-4 s ... up to 15-30 s, so that many consoles
   * dropped at once (a deploy) do not all come back in the same second. */
  retry() {
    const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * 2 ** this.failures);
    this.failures += 1;
    const delay = ceiling / 2 + Math.random() * (ceiling / 2);
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.connect(), delay);
    this.hooks.onState("waiting", { retryAt: Date.now() + delay, offline: navigator.onLine === false });
  }
}
