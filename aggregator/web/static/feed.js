// The live feed: Server-Sent Events read with fetch() so the bearer token goes in a header
// (EventSource cannot send one, and a token must never sit in a URL).
import { api, token } from "./api.js";

// The server sends a keep-alive at least every 15 s; 35 s of silence means the feed is lost.
const SILENCE_LIMIT_MS = 35000;
// Reconnect back-off: 1 s doubling to 30 s, so a restarting aggregator is not hammered.
const RETRY_MIN_MS = 1000;
const RETRY_MAX_MS = 30000;

export class Feed {
  constructor({ onEvent, onStatus }) {
    this.onEvent = onEvent;
    this.onStatus = onStatus;
    this.lastId = null;
    this.lastByteAt = 0;
    this.retry = RETRY_MIN_MS;
    this.stopped = false;
    this.controller = null;
    this.watchdog = setInterval(() => this.#checkSilence(), 5000);
  }

  start() { this.stopped = false; this.#connect(); }

  stop() {
    this.stopped = true;
    clearInterval(this.watchdog);
    if (this.controller) this.controller.abort();
  }

  #status(state) { this.state = state; this.onStatus(state); }

  #checkSilence() {
    if (this.state === "live" && Date.now() - this.lastByteAt > SILENCE_LIMIT_MS) {
      if (this.controller) this.controller.abort();
    }
  }

  async #connect() {
    if (this.stopped) return;
    this.#status(this.state === "lost" ? "lost" : "connecting");
    this.controller = new AbortController();
    const headers = { Accept: "text/event-stream", Authorization: `Bearer ${token.get() || ""}` };
    if (this.lastId) headers["Last-Event-ID"] = this.lastId;
    try {
      const res = await fetch(api.feedPath, { headers, signal: this.controller.signal, cache: "no-store" });
      if (!res.ok || !res.body) throw new Error(`feed answered ${res.status}`);
      this.retry = RETRY_MIN_MS;
      this.lastByteAt = Date.now();
      this.#status("live");
      await this.#read(res.body.getReader());
    } catch (err) {
      if (this.stopped) return;
      console.warn("camwatch feed:", err.message || err);
    }
    if (this.stopped) return;
    this.#status("lost");
    setTimeout(() => this.#connect(), this.retry);
    this.retry = Math.min(this.retry * 2, RETRY_MAX_MS);
  }

  async #read(reader) {
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      this.lastByteAt = Date.now();
      buffer += decoder.decode(value, { stream: true });
      let cut;
      while ((cut = buffer.search(/\r?\n\r?\n/)) >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut).replace(/^\r?\n\r?\n/, "");
        this.#dispatch(block);
      }
    }
  }

  #dispatch(block) {
    let type = "message", id = null;
    const data = [];
    for (const line of block.split(/\r?\n/)) {
      if (!line || line.startsWith(":")) continue;
      const i = line.indexOf(":");
      const field = i < 0 ? line : line.slice(0, i);
      const value = i < 0 ? "" : line.slice(i + 1).replace(/^ /, "");
      if (field === "event") type = value;
      else if (field === "data") data.push(value);
      else if (field === "id") id = value;
    }
    if (id) this.lastId = id;
    if (!data.length) { this.onEvent({ type: "keepalive" }); return; }
    let payload = data.join("\n");
    try { payload = JSON.parse(payload); } catch { /* plain text */ }
    this.onEvent({ type, id, data: payload });
  }
}
