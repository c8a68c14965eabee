// The picture-stream player: an MJPEG stream cut into JPEG frames at their SOI/EOI markers as
// it downloads, each frame decoded with createImageBitmap and drawn on a canvas at the frame
// rate, following the clock of an <audio> element playing the event's AAC track (so picture
// and sound stay together through pause, seek and speed changes).

const SOI0 = 0xff;
const SOI1 = 0xd8;
const EOI1 = 0xd9;
const DECODE_AHEAD = 4;

function fmtTime(s) {
  s = Math.max(0, s || 0);
  return `${Math.floor(s / 60)}:${String(Math.floor(s % 60)).padStart(2, "0")}`;
}

/** Incrementally split a byte stream into JPEG frames. */
export class JpegSplitter {
  constructor() {
    this.buf = new Uint8Array(1 << 20);
    this.len = 0;
    this.scan = 0; // where to resume looking for a marker
    this.frameStart = -1;
    this.frames = [];
  }

  push(chunk) {
    if (this.len + chunk.length > this.buf.length) {
      const bigger = new Uint8Array(Math.max(this.buf.length * 2, this.len + chunk.length));
      bigger.set(this.buf.subarray(0, this.len));
      this.buf = bigger;
    }
    this.buf.set(chunk, this.len);
    this.len += chunk.length;
    const b = this.buf;
    for (let i = this.scan; i + 1 < this.len; i++) {
      if (b[i] !== SOI0) continue;
      if (this.frameStart < 0 && b[i + 1] === SOI1) {
        this.frameStart = i;
        i++;
      } else if (this.frameStart >= 0 && b[i + 1] === EOI1) {
        this.frames.push(b.slice(this.frameStart, i + 2));
        this.frameStart = -1;
        i++;
      }
    }
    this.scan = Math.max(this.len - 1, 0);
  }
}

export class MjpegPlayer {
  constructor(root) {
    this.root = root;
    this.canvas = root.querySelector("canvas");
    this.ctx = this.canvas.getContext("2d");
    this.audio = root.querySelector("audio");
    this.toggleBtn = root.querySelector('[data-action="toggle"]');
    this.seekBar = root.querySelector('[data-action="seek"]');
    this.speedSel = root.querySelector('[data-action="speed"]');
    this.clockOut = root.querySelector('[data-role="clock"]');
    this.errorBox = root.querySelector(".player-error");
    this.hint = root.querySelector(".stage-hint");
    this.labels = { play: this.toggleBtn.textContent, pause: root.dataset.labelPause || "Pause" };
    this.frames = [];
    this.bitmaps = new Map();
    this.fps = 10;
    this.duration = 0;
    this.drawn = -1;
    this.generation = 0;
    this.useAudioClock = false;
    this.fallback = { playing: false, base: 0, at: 0 };
    this.rate = 1;
    this.framesDrawn = 0;
    this._bind();
  }

  _bind() {
    this.toggleBtn.addEventListener("click", () => (this.playing ? this.pause() : this.play()));
    this.seekBar.addEventListener("input", () => this.seek((Number(this.seekBar.value) / 1000) * this.duration));
    this.speedSel.addEventListener("change", () => this.setRate(Number(this.speedSel.value)));
    this.audio.addEventListener("ended", () => this._update());
    this.audio.addEventListener("pause", () => this._update());
  }

  get playing() {
    return this.useAudioClock ? !this.audio.paused && !this.audio.ended : this.fallback.playing;
  }

  /** Seconds into the event, from the audio clock when there is sound. */
  time() {
    if (this.useAudioClock) return this.audio.currentTime;
    const f = this.fallback;
    if (!f.playing) return f.base;
    return Math.min(f.base + ((performance.now() - f.at) / 1000) * this.rate, this.duration);
  }

  showError(message) {
    this.errorBox.textContent = message;
    this.errorBox.hidden = !message;
  }

  /** Play one event: {video_url, audio_url, start, end}. */
  async open(stream, { autoplay = true } = {}) {
    const gen = ++this.generation;
    this.pause();
    this.showError("");
    if (this.hint) this.hint.hidden = true;
    this.frames = [];
    this.bitmaps.clear();
    this.drawn = -1;
    this.duration = Math.max((stream.end || 0) - (stream.start || 0), 0);
    const fpsParam = Number(new URL(stream.video_url, window.location.href).searchParams.get("fps"));
    this.fps = fpsParam > 0 ? fpsParam : 0;
    this.fallback = { playing: false, base: 0, at: 0 };
    this.useAudioClock = !!stream.audio_url;
    if (stream.audio_url) {
      this.audio.src = stream.audio_url;
      this.audio.playbackRate = this.rate;
      this.audio.load();
    } else {
      this.audio.removeAttribute("src");
    }
    for (const el of [this.toggleBtn, this.seekBar]) el.disabled = false;

    const splitter = new JpegSplitter();
    const resp = await fetch(stream.video_url);
    if (!resp.ok) {
      this.showError(this.root.dataset.labelError || resp.statusText);
      return;
    }
    const reader = resp.body.getReader();
    let started = false;
    for (;;) {
      const { done, value } = await reader.read();
      if (gen !== this.generation) return reader.cancel();
      if (value) {
        splitter.push(value);
        this.frames = splitter.frames;
      }
      // Start as soon as the first frames are in: the rest arrives faster than real time.
      if (!started && (done || this.frames.length >= 2)) {
        started = true;
        await this._draw(0);
        if (autoplay) this.play();
      }
      if (done) break;
    }
    if (!this.fps) {
      this.fps = this.duration > 0 ? this.frames.length / this.duration : 10;
    }
    if (!this.duration) this.duration = this.frames.length / this.fps;
    this._update();
  }

  _frameAt(t) {
    const fps = this.fps || (this.duration > 0 ? Math.max(this.frames.length, 1) / this.duration : 10);
    return Math.min(Math.floor(t * fps), this.frames.length - 1);
  }

  async _decode(i) {
    if (this.bitmaps.has(i)) return this.bitmaps.get(i);
    const frame = this.frames[i];
    if (!frame) return null;
    const p = createImageBitmap(new Blob([frame], { type: "image/jpeg" }));
    this.bitmaps.set(i, p);
    return p;
  }

  async _draw(i) {
    if (i < 0 || i >= this.frames.length) return;
    const bitmap = await this._decode(i).catch(() => null);
    for (let k = 1; k <= DECODE_AHEAD; k++) this._decode(i + k);
    for (const key of this.bitmaps.keys()) {
      if (key < i - 1 || key > i + DECODE_AHEAD) {
        this.bitmaps.get(key).then((b) => b && b.close()).catch(() => {});
        this.bitmaps.delete(key);
      }
    }
    if (!bitmap) return;
    if (this.canvas.width !== bitmap.width || this.canvas.height !== bitmap.height) {
      this.canvas.width = bitmap.width;
      this.canvas.height = bitmap.height;
    }
    this.ctx.drawImage(bitmap, 0, 0);
    this.drawn = i;
    this.framesDrawn++;
    this.canvas.dataset.frame = String(i);
  }

  _tick = () => {
    const t = this.time();
    const i = this._frameAt(t);
    if (i !== this.drawn && i >= 0) this._draw(i);
    this._update();
    const over = !this.useAudioClock && t >= this.duration;
    if (over) this.fallback.playing = false;
    this.raf = this.playing ? requestAnimationFrame(this._tick) : 0;
  };

  _update() {
    const t = this.time();
    this.clockOut.textContent = `${fmtTime(t)} / ${fmtTime(this.duration)}`;
    if (this.duration) this.seekBar.value = String(Math.round((t / this.duration) * 1000));
    this.toggleBtn.textContent = this.playing ? this.labels.pause : this.labels.play;
  }

  play() {
    if (this.useAudioClock) {
      if (this.audio.ended) this.audio.currentTime = 0;
      this.audio.play().catch(() => {
        // No sound allowed or playable here: keep the pictures going on the page's clock.
        this.useAudioClock = false;
        this.fallback = { playing: true, base: this.audio.currentTime || 0, at: performance.now() };
        this._kick();
      });
    } else {
      const f = this.fallback;
      if (f.base >= this.duration) f.base = 0;
      this.fallback = { playing: true, base: f.base, at: performance.now() };
    }
    this._kick();
  }

  _kick() {
    if (!this.raf) this.raf = requestAnimationFrame(this._tick);
    // The audio may take a moment to report "playing"; keep ticking until it does.
    setTimeout(() => { if (!this.raf && this.playing) this.raf = requestAnimationFrame(this._tick); }, 100);
  }

  pause() {
    if (this.useAudioClock) this.audio.pause();
    else this.fallback = { playing: false, base: this.time(), at: 0 };
    this._update();
  }

  seek(t) {
    t = Math.min(Math.max(t, 0), this.duration);
    if (this.useAudioClock) this.audio.currentTime = t;
    else this.fallback = { ...this.fallback, base: t, at: performance.now() };
    this._draw(this._frameAt(t));
    this._update();
  }

  setRate(rate) {
    if (!this.useAudioClock) this.fallback = { ...this.fallback, base: this.time(), at: performance.now() };
    this.rate = rate;
    this.audio.playbackRate = rate;
  }
}
