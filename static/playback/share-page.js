// The anonymous share page: plays exactly the shared range (the server signs nothing else).
import { HlsPlayer } from "./hls-player.js";
import { MjpegPlayer } from "./mjpeg-player.js";
import { clockFormatter } from "./timeline.js";

async function getJSON(url) {
  const r = await fetch(url, { headers: { Accept: "application/json" } });
  const body = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(body.error || r.statusText);
  return body;
}

const picture = document.getElementById("picture-player");
if (picture) {
  const player = new MjpegPlayer(picture);
  getJSON(picture.dataset.streamUrl)
    .then((stream) => player.open(stream, { autoplay: false }))
    .catch((err) => player.showError(err.message));
}

const root = document.getElementById("player");
if (root) {
  const ds = root.dataset;
  const video = root.querySelector("video");
  const errorBox = root.querySelector(".player-error");
  const clock = root.querySelector('[data-role="clock"]');
  const toggle = root.querySelector('[data-action="toggle"]');
  const fmt = clockFormatter(ds.tz);
  const player = new HlsPlayer(video, { fetchSource: () => getJSON(ds.shareSource) });
  const show = (m) => { errorBox.textContent = m; errorBox.hidden = false; };
  player.load(Number(ds.windowStart), Number(ds.windowEnd))
    .then((source) => player.playFrom(source.start, { play: false }))
    .catch((err) => show(err.message));
  toggle.addEventListener("click", () => {
    if (!player.loadStarted && player.source) player.playFrom(player.source.start);
    else if (video.paused) video.play().catch(() => {});
    else video.pause();
  });
  root.querySelector('[data-action="speed"]').addEventListener("change", (e) => player.setRate(Number(e.target.value)));
  video.addEventListener("timeupdate", () => {
    const w = player.currentWall();
    if (w != null) clock.textContent = fmt(w);
  });
  video.addEventListener("play", () => { toggle.textContent = ds.labelPause; });
  video.addEventListener("pause", () => { toggle.textContent = ds.labelPlay; });
  root.player = player;
}
