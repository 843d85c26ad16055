// Register the service worker (issue 15) and mark the page offline while the browser is.
export function registerPwa() {
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch((err) => console.warn("camwatch service worker:", err.message));
  }
  const mark = () => document.body.classList.toggle("offline", !navigator.onLine);
  window.addEventListener("online", mark);
  window.addEventListener("offline", mark);
  mark();
}

/** Whether an error means the network is gone (not an HTTP answer). */
export function isOffline(err) {
  return !navigator.onLine || err instanceof TypeError || (err && err.name === "AbortError");
}
