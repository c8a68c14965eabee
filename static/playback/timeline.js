// The 24 h timeline of one day: recorded spans, event markers, a cursor that follows the
// video, zoom (24 h / 6 h / 1 h / 10 min), hover time, click or drag to seek, keyboard.

const ZOOMS = [86400, 21600, 3600, 600];

export function clockFormatter(tz) {
  const fmt = new Intl.DateTimeFormat(undefined, {
    hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false, timeZone: tz,
  });
  return (epoch) => fmt.format(new Date(epoch * 1000));
}

export class Timeline {
  constructor(el, { windowStart, windowEnd, spans, tz, onSeek, onToggle, onZoom }) {
    this.el = el;
    this.track = el.querySelector(".tl-track");
    this.ticks = el.querySelector(".tl-ticks");
    this.cursor = el.querySelector(".tl-cursor");
    this.hover = el.querySelector(".tl-hover");
    this.start = windowStart;
    this.end = windowEnd;
    this.spans = spans || [];
    this.events = [];
    this.fmt = clockFormatter(tz);
    this.hm = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", hour12: false, timeZone: tz });
    this.onSeek = onSeek;
    this.onToggle = onToggle || (() => {});
    this.onZoom = onZoom || (() => {});
    this.zoom = windowEnd - windowStart;
    this.viewStart = windowStart;
    this.time = this.spans.length ? this.spans[0][0] : windowStart;
    this.dragging = false;
    this._bind();
    this.render();
  }

  get viewEnd() {
    return this.viewStart + this.zoom;
  }

  setEvents(events) {
    this.events = events;
    this.render();
  }

  setSpans(spans) {
    this.spans = spans;
    this.render();
  }

  setZoom(seconds, center = this.time) {
    this.zoom = Math.min(seconds, this.end - this.start);
    this._centerOn(center);
    this.onZoom(this.zoom);
    this.render();
  }

  _zoomIndex() {
    // A day with a DST change is 23 or 25 h long: its whole-day zoom counts as "24 h".
    return this.zoom > ZOOMS[1] ? 0 : Math.max(ZOOMS.indexOf(this.zoom), 0);
  }

  _centerOn(t) {
    const s = Math.min(Math.max(t - this.zoom / 2, this.start), this.end - this.zoom);
    this.viewStart = s;
  }

  /** Move the cursor to wall-clock `t`; the view pans when the cursor leaves it. */
  setTime(t) {
    if (t == null || this.dragging) return;
    this.time = t;
    if (t < this.viewStart || t > this.viewEnd) {
      this._centerOn(t);
      this.render();
    } else {
      this._placeCursor();
    }
    this.el.setAttribute("aria-valuenow", String(Math.round(t)));
    this.el.setAttribute("aria-valuetext", this.fmt(t));
  }

  _x(t) {
    return ((t - this.viewStart) / this.zoom) * 100;
  }

  _timeAt(clientX) {
    const r = this.el.getBoundingClientRect();
    const f = Math.min(Math.max((clientX - r.left) / r.width, 0), 1);
    return this.viewStart + f * this.zoom;
  }

  _placeCursor() {
    const x = this._x(this.time);
    this.cursor.style.left = `${x}%`;
    this.cursor.hidden = x < 0 || x > 100;
  }

  render() {
    const vs = this.viewStart;
    const ve = this.viewEnd;
    const frag = document.createDocumentFragment();
    for (const [s, e] of this.spans) {
      if (e <= vs || s >= ve) continue;
      const el = document.createElement("span");
      el.className = "tl-span";
      el.style.left = `${this._x(Math.max(s, vs))}%`;
      el.style.width = `${Math.max(this._x(Math.min(e, ve)) - this._x(Math.max(s, vs)), 0.15)}%`;
      frag.appendChild(el);
    }
    for (const [id, s] of this.events) {
      if (s < vs || s >= ve) continue;
      const el = document.createElement("span");
      el.className = "tl-event";
      el.style.left = `${this._x(s)}%`;
      el.title = this.fmt(s);
      el.dataset.eventId = id;
      frag.appendChild(el);
    }
    this.track.replaceChildren(frag);
    // Ticks: about six labels whatever the zoom.
    const step = { 86400: 4 * 3600, 21600: 3600, 3600: 600, 600: 120 }[this.zoom] || this.zoom / 6;
    const ticks = document.createDocumentFragment();
    for (let t = Math.ceil((vs - this.start) / step) * step + this.start; t <= ve; t += step) {
      const el = document.createElement("span");
      el.style.left = `${this._x(t)}%`;
      el.textContent = this.hm.format(new Date(t * 1000));
      ticks.appendChild(el);
    }
    this.ticks.replaceChildren(ticks);
    this._placeCursor();
  }

  _bind() {
    const el = this.el;
    el.addEventListener("pointermove", (e) => {
      const t = this._timeAt(e.clientX);
      this.hover.hidden = false;
      this.hover.textContent = this.fmt(t);
      const r = el.getBoundingClientRect();
      this.hover.style.left = `${e.clientX - r.left}px`;
      if (this.dragging) {
        this.time = t;
        this._placeCursor();
      }
    });
    el.addEventListener("pointerleave", () => {
      this.hover.hidden = true;
    });
    el.addEventListener("pointerdown", (e) => {
      if (e.button !== 0) return;
      this.dragging = true;
      el.setPointerCapture(e.pointerId);
      this.time = this._timeAt(e.clientX);
      this._placeCursor();
    });
    const finish = (e) => {
      if (!this.dragging) return;
      this.dragging = false;
      this.time = this._timeAt(e.clientX);
      this._placeCursor();
      this.onSeek(this.time);
    };
    el.addEventListener("pointerup", finish);
    el.addEventListener("pointercancel", () => {
      this.dragging = false;
    });
    el.addEventListener("keydown", (e) => {
      const big = e.shiftKey ? 6 : 1;
      const stepFor = this.zoom / 144; // 10 min at 24 h, 10 s at 1 h
      if (e.key === " " || e.key === "Spacebar") {
        this.onToggle();
      } else if (e.key === "ArrowLeft" || e.key === "ArrowRight") {
        const dir = e.key === "ArrowLeft" ? -1 : 1;
        const t = Math.min(Math.max(this.time + dir * stepFor * big, this.start), this.end - 1);
        this.setTime(t);
        this.onSeek(t);
      } else if (e.key === "+" || e.key === "=") {
        const i = this._zoomIndex();
        if (i < ZOOMS.length - 1) this.setZoom(ZOOMS[i + 1]);
      } else if (e.key === "-" || e.key === "_") {
        const i = this._zoomIndex();
        if (i > 0) this.setZoom(ZOOMS[i - 1]);
      } else {
        return;
      }
      e.preventDefault();
    });
  }
}
