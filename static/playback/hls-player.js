// The video-stream player: hls.js (or Safari's native HLS) on a signed m3u8 that the server
// builds for one window of a day, with the mapping between the video's own clock and the
// wall clock, and renewal of the signed addresses before they expire.

const RENEW_BEFORE = 240; // seconds before expiry; the server re-signs when < 5 min are left
const RETRY_RENEW = 30;

function segmentKey(url) {
  // A segment's address without its signature: the same segment signed anew has the same key.
  const u = new URL(url, window.location.href);
  return u.origin + u.pathname;
}

export class HlsPlayer {
  /**
   * @param {HTMLVideoElement} video
   * @param {{fetchSource: (start:number, end:number) => Promise<object>, onError?: Function, onReady?: Function}} options
   */
  constructor(video, { fetchSource, onError, onReady }) {
    this.video = video;
    this.fetchSource = fetchSource;
    this.onError = onError || (() => {});
    this.onReady = onReady || (() => {});
    this.source = null; // {url, expires_at, start, end, spans}
    this.pieces = []; // [{m: media start, w: wall start, d: duration}] in media order
    this.hls = null;
    this.rewrites = new Map(); // segment key -> freshly signed address
    this.renewTimer = null;
    this.ready = null; // a promise settled when the manifest is parsed
    this.pendingWall = null;
  }

  get native() {
    const Hls = window.Hls;
    return !(Hls && Hls.isSupported()) && !!this.video.canPlayType("application/vnd.apple.mpegurl");
  }

  /** Load the window [start, end] (Unix seconds) without starting playback. */
  load(start, end) {
    this.ready = this.fetchSource(start, end).then((source) => this._attach(source));
    return this.ready;
  }

  _attach(source) {
    this.source = source;
    this.rewrites.clear();
    this.pieces = this._piecesFromSpans(source.spans, source.start, source.end);
    this._scheduleRenewal();
    if (this.native) {
      return new Promise((resolve) => {
        this.video.addEventListener("loadedmetadata", () => resolve(source), { once: true });
        this.video.src = source.url;
        this.video.load();
      });
    }
    const Hls = window.Hls;
    if (!Hls) throw new Error("hls.js did not load");
    if (this.hls) this.hls.destroy();
    this.loadStarted = false;
    const hls = new Hls({
      autoStartLoad: false,
      startPosition: 0,
      maxBufferLength: 20,
      backBufferLength: 60,
      // A renewed signature replaces the one in the playlist hls.js already holds, so the
      // segments still to come load with it and playback never restarts.
      xhrSetup: (xhr, url) => {
        const fresh = this.rewrites.get(segmentKey(url));
        if (fresh) xhr.open("GET", fresh, true);
      },
    });
    this.hls = hls;
    return new Promise((resolve, reject) => {
      hls.on(Hls.Events.LEVEL_LOADED, (_e, data) => {
        const pieces = this._piecesFromFragments(data.details.fragments);
        if (pieces.length) this.pieces = pieces;
        resolve(source);
      });
      hls.on(Hls.Events.ERROR, (_e, data) => {
        if (!data.fatal) return;
        if (data.type === Hls.ErrorTypes.NETWORK_ERROR && data.details !== "manifestLoadError") {
          hls.startLoad(); // a transient failure (or a signature just renewed): try again
          return;
        }
        if (data.type === Hls.ErrorTypes.MEDIA_ERROR) {
          hls.recoverMediaError();
          return;
        }
        this.onError(data);
        reject(new Error(data.details));
      });
      hls.loadSource(source.url);
      hls.attachMedia(this.video);
    });
  }

  _piecesFromFragments(fragments) {
    const pieces = [];
    for (const f of fragments) {
      if (f.programDateTime == null) return [];
      pieces.push({ m: f.start, w: f.programDateTime / 1000, d: f.duration });
    }
    return pieces;
  }

  _piecesFromSpans(spans, start, end) {
    // Without program date-times the playlist is taken to be the spans back to back.
    const pieces = [];
    let m = 0;
    for (const [s, e] of spans || [[start, end]]) {
      pieces.push({ m, w: s, d: e - s });
      m += e - s;
    }
    return pieces;
  }

  /** The wall-clock time (Unix seconds) at media time `t`. */
  wallAt(t) {
    const ps = this.pieces;
    if (!ps.length) return null;
    let lo = 0;
    let hi = ps.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (ps[mid].m <= t) lo = mid;
      else hi = mid - 1;
    }
    const p = ps[lo];
    return p.w + Math.min(Math.max(t - p.m, 0), p.d);
  }

  /** The media time of wall-clock `w`; inside a gap, the start of the next recording. */
  mediaAt(w) {
    for (const p of this.pieces) {
      if (w < p.w) return p.m; // in a gap before this piece: run on to it
      if (w < p.w + p.d) return p.m + (w - p.w);
    }
    return null; // after the last recording of the window
  }

  currentWall() {
    return this.wallAt(this.video.currentTime);
  }

  covers(w) {
    return !!this.source && w >= this.source.start && w < this.source.end;
  }

  /** Play from wall-clock `w`. Returns false when nothing is recorded from there on. */
  async playFrom(w, { play = true } = {}) {
    if (this.ready) await this.ready.catch(() => null);
    const m = this.mediaAt(w);
    if (m == null) return false;
    if (this.hls && !this.loadStarted) {
      this.loadStarted = true;
      this.hls.startLoad(m);
    }
    this.video.currentTime = m;
    if (play) {
      try {
        await this.video.play();
      } catch (err) {
        // Autoplay with sound may be refused until the user interacts: retry muted.
        if (err && err.name === "NotAllowedError") {
          this.video.muted = true;
          await this.video.play().catch(() => {});
        }
      }
    }
    return true;
  }

  _scheduleRenewal() {
    clearTimeout(this.renewTimer);
    if (!this.source || !this.source.expires_at) return;
    const wait = Math.max(this.source.expires_at - RENEW_BEFORE - Date.now() / 1000, 5);
    this.renewTimer = setTimeout(() => this.renew(), wait * 1000);
  }

  /** Re-sign the window and swap the addresses in place, without stopping playback. */
  async renew() {
    const old = this.source;
    if (!old) return;
    let fresh;
    try {
      fresh = await this.fetchSource(old.start, old.end);
    } catch (err) {
      this.renewTimer = setTimeout(() => this.renew(), RETRY_RENEW * 1000);
      return;
    }
    if (fresh.expires_at <= old.expires_at) {
      this.renewTimer = setTimeout(() => this.renew(), RETRY_RENEW * 1000);
      return;
    }
    if (this.native) {
      const t = this.video.currentTime;
      const playing = !this.video.paused;
      this.source = fresh;
      this.video.src = fresh.url;
      this.video.addEventListener("loadedmetadata", () => {
        this.video.currentTime = t;
        if (playing) this.video.play().catch(() => {});
      }, { once: true });
    } else {
      const text = await fetch(fresh.url).then((r) => r.text());
      const base = new URL(fresh.url, window.location.href);
      for (const line of text.split("\n")) {
        const l = line.trim();
        if (!l || l.startsWith("#")) continue;
        const abs = new URL(l, base).href;
        this.rewrites.set(segmentKey(abs), abs);
      }
      this.source = { ...fresh, spans: old.spans };
    }
    this._scheduleRenewal();
  }

  setRate(rate) {
    this.video.playbackRate = rate;
  }

  destroy() {
    clearTimeout(this.renewTimer);
    if (this.hls) this.hls.destroy();
  }
}
