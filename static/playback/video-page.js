// The video-stream device page: wires the player, the timeline, the controls and the gallery.
import { HlsPlayer } from "./hls-player.js";
import { Timeline, clockFormatter } from "./timeline.js";

const root = document.getElementById("player");
if (root) init(root);

async function getJSON(url) {
  const r = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
  const body = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(body.error || r.statusText);
  return body;
}

function init(root) {
  const ds = root.dataset;
  const video = root.querySelector("video");
  const errorBox = root.querySelector(".player-error");
  const hint = root.querySelector(".stage-hint");
  const toggle = root.querySelector('[data-action="toggle"]');
  const clock = root.querySelector('[data-role="clock"]');
  const speed = root.querySelector('[data-action="speed"]');
  const fmt = clockFormatter(ds.tz);
  const windowStart = Number(ds.windowStart);
  const windowEnd = Number(ds.windowEnd);
  const spans = JSON.parse(ds.spans || "[]");

  const showError = (message) => {
    errorBox.textContent = message;
    errorBox.hidden = false;
  };
  const hideError = () => {
    errorBox.hidden = true;
  };

  const player = new HlsPlayer(video, {
    fetchSource: (start, end) => {
      const url = new URL(ds.signedUrl, window.location.href);
      url.searchParams.set("start", String(Math.floor(start)));
      url.searchParams.set("end", String(Math.ceil(end)));
      return getJSON(url);
    },
    onError: (data) => {
      console.warn("hls.js", data.type, data.details);
      showError(ds.labelError);
    },
  });

  const timeline = new Timeline(root.querySelector(".timeline"), {
    windowStart, windowEnd, spans, tz: ds.tz,
    onSeek: (t) => seek(t),
    onToggle: () => togglePlay(),
  });

  // The day's playlist is fetched and parsed while the user looks at the page, so a click on
  // an event or the timeline only has to load the segments it needs.
  if (spans.length) player.load(windowStart, windowEnd).catch((err) => showError(err.message));

  async function seek(t, { play = true } = {}) {
    hideError();
    hint.hidden = true;
    if (!player.ready) {
      showError(ds.labelNothing);
      return;
    }
    try {
      const ok = await player.playFrom(t, { play });
      if (!ok) showError(ds.labelNothing);
    } catch (err) {
      showError(err.message);
    }
  }

  function togglePlay() {
    if (!player.source) return;
    if (!player.loadStarted) {
      seek(timeline.time);
    } else if (video.paused) {
      video.play().catch(() => {});
    } else {
      video.pause();
    }
  }

  function follow() {
    const w = player.currentWall();
    if (w == null) return;
    timeline.setTime(w);
    clock.textContent = fmt(w);
  }

  let raf = 0;
  const loop = () => {
    follow();
    raf = video.paused ? 0 : requestAnimationFrame(loop);
  };
  video.addEventListener("play", () => {
    toggle.textContent = ds.labelPause;
    if (!raf) raf = requestAnimationFrame(loop);
  });
  video.addEventListener("pause", () => {
    toggle.textContent = ds.labelPlay;
  });
  video.addEventListener("seeked", follow);
  video.addEventListener("timeupdate", follow);
  video.addEventListener("ratechange", () => {
    speed.value = String(video.playbackRate);
  });
  toggle.addEventListener("click", togglePlay);
  speed.addEventListener("change", () => player.setRate(Number(speed.value)));

  for (const b of root.querySelectorAll("[data-zoom]")) {
    b.addEventListener("click", () => timeline.setZoom(Number(b.dataset.zoom)));
  }
  timeline.onZoom = (z) => {
    for (const b of root.querySelectorAll("[data-zoom]")) {
      b.setAttribute("aria-pressed", String(Number(b.dataset.zoom) === z || (z > 21600 && b.dataset.zoom === "86400")));
    }
  };

  document.addEventListener("playback:event", (e) => seek(e.detail.start));

  getJSON(ds.timelineUrl)
    .then((data) => {
      timeline.setSpans(data.spans);
      timeline.setEvents(data.events);
    })
    .catch(() => {}); // markers are a help, not a requirement

  const at = Number(new URLSearchParams(window.location.search).get("at"));
  if (at && spans.length) seek(at, { play: false });
  // For the browser tests and the benchmark.
  root.player = player;
  root.timeline = timeline;
}
