// The picture-stream device page: a click on an event asks the server for that event's
// signed MJPEG and AAC addresses and plays them in the canvas player.
import { MjpegPlayer } from "./mjpeg-player.js";

const root = document.getElementById("picture-player");
if (root) {
  const player = new MjpegPlayer(root);
  root.player = player; // for the browser tests and the benchmark
  document.addEventListener("playback:event", async (e) => {
    const { eventId, start } = e.detail;
    const url = new URL(root.dataset.streamUrl.replace("__event__", encodeURIComponent(eventId)), window.location.href);
    url.searchParams.set("start", String(start));
    try {
      const r = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
      const body = await r.json().catch(() => ({}));
      if (!r.ok) throw new Error(body.error || r.statusText);
      await player.open(body);
    } catch (err) {
      player.showError(err.message);
    }
  });
}
