// inpaint's page: open a picture, paint the hole, send it to POST /v1/jobs and watch the
// server-sent progress until the filled PNG comes back. Plain JS, no dependencies.
//
// The mask lives on an offscreen canvas at the picture's natural size, so the mask sent is
// exactly the picture's size whatever the zoom; the picture sent is the very file the user
// opened, so its known pixels come back byte-identical.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const el = {
    body: document.body,
    file: $("file"), stage: $("stage"), wrap: $("canvas-wrap"), hint: $("drop-hint"),
    picture: $("picture"), canvas: $("canvas"), pictureMeta: $("picture-meta"),
    brush: $("brush"), brushValue: $("brush-value"), eraser: $("eraser"), undo: $("undo"),
    clear: $("clear"), maskFile: $("mask-file"), maskFileLabel: $("mask-file-label"),
    iterations: $("iterations"), restarts: $("restarts"), seed: $("seed"),
    result: $("result"), placeholder: $("result-placeholder"), progress: $("progress"),
    step: $("step"), fill: $("fill"), download: $("download"), status: $("status"),
    modelLine: $("model-line"),
  };

  const PAINT = "rgb(255, 72, 104)";    // the mask's colour; shown at OVERLAY_ALPHA over the picture
  const OVERLAY_ALPHA = 0.55;
  const MAX_UNDO = 20;                   // strokes kept for undo...
  const UNDO_BYTES = 256 * 2 ** 20;      // ...fewer for large pictures, so snapshots stay under this
  const MAX_UPSCALE = 8;

  const state = {
    file: null,          // the File the user opened: sent as is
    bitmap: null,        // its decoded pixels, for display
    width: 0, height: 0, // natural size
    mask: null, maskCtx: null,
    undo: [],
    painted: false,
    eraser: false,
    stroke: null,        // {id, last: {x, y}} while a pointer paints
    hover: null,         // {x, y} in canvas CSS pixels, for the brush outline
    job: null,           // {source: EventSource, token} while a completion runs
    token: 0,            // bumped per job and per opened picture: late answers of old jobs are ignored
    previews: 0,
    maxUploadMB: null,
    layoutWidth: 0,
  };

  // ---------------------------------------------------------------- status, state, controls

  function setStatus(text, kind = "") {
    el.status.textContent = text;
    el.status.classList.toggle("error", kind === "error");
  }

  function setState(name) {
    el.body.dataset.state = name;
    el.result.dataset.state = name;
  }

  const running = () => el.body.dataset.state === "running";

  function updateControls() {
    const open = state.bitmap !== null;
    el.eraser.disabled = !open;
    el.clear.disabled = !open || !state.painted;
    el.undo.disabled = !open || state.undo.length === 0;
    el.maskFile.disabled = !open;
    el.maskFileLabel.setAttribute("aria-disabled", String(!open));
    el.fill.disabled = !open || !state.painted || running();
  }

  function setDownload(url) {
    if (url) {
      el.download.href = url;
      el.download.setAttribute("aria-disabled", "false");
    } else {
      el.download.removeAttribute("href");
      el.download.setAttribute("aria-disabled", "true");
    }
  }

  function resetResult(keepPicture = false) {
    state.previews = 0;
    el.result.dataset.previews = "0";
    if (!keepPicture) {                        // a new Fill keeps the last result until its first preview
      el.result.hidden = true;
      el.result.removeAttribute("src");
      el.placeholder.hidden = false;
    }
    el.progress.hidden = true;
    el.progress.value = 0;
    el.step.textContent = "";
    setDownload(null);
  }

  function stopWatching() {
    if (state.job) {
      state.job.source.close();
      state.job = null;
    }
    state.token += 1;
  }

  // ---------------------------------------------------------------- opening pictures

  // The server reads a file's stored pixels and ignores any EXIF rotation, while browsers apply
  // it when they decode. So the page decodes a copy whose orientation tag says "as stored": the
  // picture is painted, sent and returned the same way up, and the mask has the server's size.
  // The file sent is still the user's own, untouched.
  async function asStored(file) {
    try {
      const head = await file.slice(0, 256 * 1024).arrayBuffer();
      const v = new DataView(head);
      if (v.byteLength < 4 || v.getUint16(0) !== 0xffd8) return { blob: file, orientation: 1 };
      let p = 2;
      while (p + 4 <= v.byteLength) {
        const marker = v.getUint16(p);
        if ((marker & 0xff00) !== 0xff00 || marker === 0xffda || marker === 0xffd9) break;
        const length = v.getUint16(p + 2);
        if (marker === 0xffe1 && v.getUint32(p + 4) === 0x45786966 && v.getUint16(p + 8) === 0) {   // "Exif\0\0"
          const tiff = p + 10;
          const little = v.getUint16(tiff) === 0x4949;
          const ifd = tiff + v.getUint32(tiff + 4, little);
          const entries = v.getUint16(ifd, little);
          for (let i = 0; i < entries; i++) {
            const entry = ifd + 2 + 12 * i;
            if (v.getUint16(entry, little) !== 0x0112) continue;
            const orientation = v.getUint16(entry + 8, little);
            if (orientation === 1) return { blob: file, orientation };
            const patched = head.slice(0);
            new DataView(patched).setUint16(entry + 8, 1, little);
            return { blob: new Blob([patched, file.slice(head.byteLength)], { type: file.type }), orientation };
          }
        }
        p += 2 + length;
      }
    } catch (e) {
      // not a JPEG we can read: decode it as it is
    }
    return { blob: file, orientation: 1 };
  }

  async function decode(file) {
    const { blob, orientation } = await asStored(file);
    let pic;
    if (window.createImageBitmap) {
      try {
        pic = await createImageBitmap(blob);
      } catch (e) {
        // fall back to an <img> below
      }
    }
    if (!pic) {
      const url = URL.createObjectURL(blob);
      try {
        pic = new Image();
        pic.src = url;
        await pic.decode();
      } finally {
        URL.revokeObjectURL(url);
      }
    }
    return { pic, orientation };
  }

  const sizeOf = (pic) => [pic.naturalWidth || pic.width, pic.naturalHeight || pic.height];

  async function openFile(file) {
    if (!file) return;
    if (file.type && !file.type.startsWith("image/")) {
      setStatus(`${file.name} is not a picture (${file.type}); open a PNG or JPEG.`, "error");
      return;
    }
    if (state.maxUploadMB && file.size > state.maxUploadMB * 2 ** 20) {
      setStatus(`${file.name} is ${(file.size / 2 ** 20).toFixed(1)} MB, over this server's limit of ` +
                `${state.maxUploadMB} MB; open a smaller picture.`, "error");
      return;
    }
    let bitmap, orientation;
    try {
      ({ pic: bitmap, orientation } = await decode(file));
    } catch (e) {
      setStatus(`Could not read ${file.name} as a picture; open a PNG or JPEG.`, "error");
      return;
    }
    stopWatching();
    const [w, h] = sizeOf(bitmap);
    state.file = file;
    state.bitmap = bitmap;
    state.width = w;
    state.height = h;
    state.mask = document.createElement("canvas");
    state.mask.width = w;
    state.mask.height = h;
    state.maskCtx = state.mask.getContext("2d", { willReadFrequently: true });
    state.undo = [];
    state.painted = false;
    state.layoutWidth = 0;
    el.hint.hidden = true;
    el.wrap.hidden = false;
    el.pictureMeta.textContent = `${file.name} · ${w} × ${h}`;
    resetResult();
    setState("idle");
    layout();
    updateControls();
    setStatus(orientation === 1 ? "Paint over the part to fill, then press Fill."
      : "This photo is marked to be shown rotated; it is shown, filled and returned as stored. " +
        "Paint over the part to fill, then press Fill.");
  }

  // ---------------------------------------------------------------- display

  function layout() {
    if (!state.bitmap) return;
    const style = getComputedStyle(el.stage);
    const available = el.stage.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
    state.layoutWidth = el.stage.clientWidth;
    // As large as fits the panel and, where possible, the window below the stage's top.
    const top = el.stage.getBoundingClientRect().top + window.scrollY;
    const maxHeight = Math.max(240, Math.min(window.innerHeight - top - 80, 1000));
    const scale = Math.min(available / state.width, maxHeight / state.height, MAX_UPSCALE);
    const cssW = Math.max(1, Math.floor(state.width * scale));
    const cssH = Math.max(1, Math.floor(state.height * scale));
    const dpr = window.devicePixelRatio || 1;
    for (const c of [el.picture, el.canvas]) {
      c.width = Math.round(cssW * dpr);
      c.height = Math.round(cssH * dpr);
      c.style.width = `${cssW}px`;
      c.style.height = `${cssH}px`;
    }
    const ctx = el.picture.getContext("2d");
    ctx.imageSmoothingEnabled = scale < 2;         // small pictures show their real pixels
    ctx.imageSmoothingQuality = "high";
    ctx.clearRect(0, 0, el.picture.width, el.picture.height);
    ctx.drawImage(state.bitmap, 0, 0, el.picture.width, el.picture.height);
    el.result.style.maxHeight = `${cssH}px`;
    el.result.style.width = `${cssW}px`;
    el.result.style.imageRendering = scale < 2 ? "auto" : "pixelated";
    drawOverlay();
  }

  function drawOverlay() {
    const c = el.canvas;
    const ctx = c.getContext("2d");
    ctx.clearRect(0, 0, c.width, c.height);
    if (!state.mask) return;
    ctx.save();
    ctx.globalAlpha = OVERLAY_ALPHA;
    ctx.imageSmoothingEnabled = c.width < state.width;   // enlarged: show the mask's real pixels
    ctx.drawImage(state.mask, 0, 0, c.width, c.height);
    ctx.restore();
    if (state.hover) {
      const dpr = c.width / c.getBoundingClientRect().width || 1;
      const r = (Number(el.brush.value) / 2) * dpr;
      const x = state.hover.x * dpr, y = state.hover.y * dpr;
      ctx.save();
      ctx.lineWidth = 1.5 * dpr;
      ctx.strokeStyle = "rgba(0, 0, 0, 0.55)";
      ctx.beginPath();
      ctx.arc(x, y, r + 0.75 * dpr, 0, Math.PI * 2);
      ctx.stroke();
      ctx.strokeStyle = "rgba(255, 255, 255, 0.9)";
      ctx.setLineDash(state.eraser ? [4 * dpr, 3 * dpr] : []);
      ctx.beginPath();
      ctx.arc(x, y, Math.max(1, r - 0.75 * dpr), 0, Math.PI * 2);
      ctx.stroke();
      ctx.restore();
    }
  }

  // ---------------------------------------------------------------- painting

  function toNatural(e) {
    const rect = el.canvas.getBoundingClientRect();
    return {
      x: ((e.clientX - rect.left) * state.width) / rect.width,
      y: ((e.clientY - rect.top) * state.height) / rect.height,
    };
  }

  function toCss(e) {
    const rect = el.canvas.getBoundingClientRect();
    return { x: e.clientX - rect.left, y: e.clientY - rect.top };
  }

  function brushRadius() {
    // The slider is in screen pixels; the mask is at the picture's natural size.
    const rect = el.canvas.getBoundingClientRect();
    return (Number(el.brush.value) / 2) * (state.width / rect.width);
  }

  function paintSegment(a, b) {
    const ctx = state.maskCtx;
    const r = brushRadius();
    ctx.save();
    ctx.globalCompositeOperation = state.eraser ? "destination-out" : "source-over";
    ctx.fillStyle = PAINT;
    ctx.strokeStyle = PAINT;
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    ctx.lineWidth = 2 * r;
    if (a.x === b.x && a.y === b.y) {
      ctx.beginPath();
      ctx.arc(a.x, a.y, r, 0, Math.PI * 2);
      ctx.fill();
    } else {
      ctx.beginPath();
      ctx.moveTo(a.x, a.y);
      ctx.lineTo(b.x, b.y);
      ctx.stroke();
    }
    ctx.restore();
  }

  function undoLimit() {
    const bytes = state.width * state.height * 4;
    return Math.max(2, Math.min(MAX_UNDO, Math.floor(UNDO_BYTES / bytes)));
  }

  function pushUndo() {
    state.undo.push(state.maskCtx.getImageData(0, 0, state.width, state.height));
    while (state.undo.length > undoLimit()) state.undo.shift();
  }

  function maskChanged() {
    const data = state.maskCtx.getImageData(0, 0, state.width, state.height).data;
    let painted = false;
    for (let i = 3; i < data.length; i += 4) {
      if (data[i] !== 0) { painted = true; break; }
    }
    state.painted = painted;
    drawOverlay();
    updateControls();
  }

  function onPointerDown(e) {
    if (!state.bitmap || e.button !== 0 || state.stroke) return;
    e.preventDefault();
    el.canvas.setPointerCapture(e.pointerId);
    pushUndo();
    const p = toNatural(e);
    state.stroke = { id: e.pointerId, last: p };
    state.hover = e.pointerType === "mouse" ? toCss(e) : null;
    paintSegment(p, p);
    drawOverlay();
    updateControls();
  }

  function onPointerMove(e) {
    if (!state.bitmap) return;
    state.hover = e.pointerType === "touch" ? null : toCss(e);
    if (state.stroke && e.pointerId === state.stroke.id) {
      const events = typeof e.getCoalescedEvents === "function" ? e.getCoalescedEvents() : [];
      for (const ev of events.length ? events : [e]) {
        const p = toNatural(ev);
        paintSegment(state.stroke.last, p);
        state.stroke.last = p;
      }
    }
    drawOverlay();
  }

  function onPointerEnd(e) {
    if (state.stroke && e.pointerId === state.stroke.id) {
      state.stroke = null;
      maskChanged();
    }
    if (e.type === "pointerleave" || e.type === "pointercancel" || e.pointerType === "touch") {
      state.hover = null;
      drawOverlay();
    }
  }

  function undo() {
    if (!state.undo.length || state.stroke) return;
    state.maskCtx.putImageData(state.undo.pop(), 0, 0);
    maskChanged();
  }

  function clearMask() {
    if (!state.painted) return;
    pushUndo();
    state.maskCtx.clearRect(0, 0, state.width, state.height);
    maskChanged();
  }

  function setEraser(on) {
    state.eraser = on;
    el.eraser.setAttribute("aria-pressed", String(on));
    drawOverlay();
  }

  async function loadMask(file) {
    if (!file || !state.bitmap) return;
    let pic;
    try {
      ({ pic } = await decode(file));
    } catch (e) {
      setStatus(`Could not read ${file.name} as a mask; use a PNG, white = hole.`, "error");
      return;
    }
    const [w, h] = sizeOf(pic);
    if (w !== state.width || h !== state.height) {
      setStatus(`The mask ${file.name} is ${w} × ${h} but the picture is ${state.width} × ${state.height}; ` +
                "use a mask of the same size.", "error");
      return;
    }
    const tmp = document.createElement("canvas");
    tmp.width = w;
    tmp.height = h;
    const tctx = tmp.getContext("2d", { willReadFrequently: true });
    tctx.drawImage(pic, 0, 0);
    const src = tctx.getImageData(0, 0, w, h).data;
    pushUndo();
    const out = state.maskCtx.getImageData(0, 0, w, h);
    const [pr, pg, pb] = PAINT.match(/\d+/g).map(Number);
    let holes = 0;
    for (let i = 0; i < src.length; i += 4) {
      // As the server reads a mask: gray >= 128 is hole; a fully transparent pixel is not.
      const gray = (src[i] * 299 + src[i + 1] * 587 + src[i + 2] * 114) / 1000;
      if (src[i + 3] !== 0 && gray >= 128) {
        out.data[i] = pr; out.data[i + 1] = pg; out.data[i + 2] = pb; out.data[i + 3] = 255;
        holes += 1;
      }
    }
    state.maskCtx.putImageData(out, 0, 0);
    maskChanged();
    if (holes === 0) {
      state.undo.pop();
      setStatus(`The mask ${file.name} marks no pixel to fill (white = hole).`, "error");
    } else {
      setStatus(`Loaded the mask ${file.name}: ${holes} pixels to fill. Paint more or press Fill.`);
    }
  }

  // ---------------------------------------------------------------- the mask to send

  function maskBlob() {
    const { width: w, height: h } = state;
    const data = state.maskCtx.getImageData(0, 0, w, h);
    const px = data.data;
    for (let i = 0; i < px.length; i += 4) {
      const v = px[i + 3] > 0 ? 255 : 0;       // painted (even faintly, at a stroke's edge) = hole
      px[i] = v; px[i + 1] = v; px[i + 2] = v; px[i + 3] = 255;
    }
    const out = document.createElement("canvas");
    out.width = w;
    out.height = h;
    out.getContext("2d").putImageData(data, 0, 0);
    return new Promise((resolve, reject) =>
      out.toBlob((b) => (b ? resolve(b) : reject(new Error("the mask could not be encoded"))), "image/png"));
  }

  function blobToDataURL(blob) {
    return new Promise((resolve, reject) => {
      const r = new FileReader();
      r.onload = () => resolve(r.result);
      r.onerror = () => reject(r.error);
      r.readAsDataURL(blob);
    });
  }

  // ---------------------------------------------------------------- a completion job

  async function errorOf(res) {
    let message = "";
    try {
      const body = await res.json();
      message = body && body.error ? String(body.error) : "";
    } catch (e) {
      // not JSON
    }
    if (!message) message = `the server answered ${res.status} ${res.statusText}`.trim();
    const retry = res.headers.get("Retry-After");
    if (res.status === 503 && retry) message += ` Try again in ${retry} s.`;
    return message;
  }

  function fail(message) {
    setState("error");
    el.progress.hidden = true;
    setStatus(message, "error");
    updateControls();
  }

  async function fill() {
    if (!state.bitmap || !state.painted || running()) return;
    stopWatching();
    const token = state.token;
    resetResult(true);
    setState("running");
    updateControls();
    setStatus("Sending the picture…");
    const form = new FormData();
    try {
      form.append("image", state.file, state.file.name || "image");
      form.append("mask", await maskBlob(), "mask.png");
    } catch (e) {
      fail(`Could not prepare the upload: ${e.message}`);
      return;
    }
    for (const [name, input] of [["iterations", el.iterations], ["restarts", el.restarts], ["seed", el.seed]]) {
      if (input.value.trim() !== "") form.append(name, input.value.trim());
    }
    let job;
    try {
      const res = await fetch("/v1/jobs", { method: "POST", body: form });
      if (token !== state.token) return;
      if (!res.ok) {
        fail(await errorOf(res));
        return;
      }
      job = await res.json();
    } catch (e) {
      if (token === state.token) fail(`Could not reach the server (${e.message}); is it still running?`);
      return;
    }
    if (token !== state.token) return;
    setStatus("Searching…");
    watch(job, token);
  }

  function watch(job, token) {
    const started = performance.now();
    const source = new EventSource(job.events);
    state.job = { source };
    const current = () => token === state.token;

    source.addEventListener("progress", (e) => {
      if (!current()) return;
      let d;
      try { d = JSON.parse(e.data); } catch (err) { return; }
      state.previews += 1;
      el.result.dataset.previews = String(state.previews);
      el.result.src = d.image;
      el.result.hidden = false;
      el.placeholder.hidden = true;
      el.progress.hidden = false;
      el.progress.max = d.of;
      el.progress.value = d.step;
      el.step.textContent = `step ${d.step} of ${d.of}`;
      setStatus(`Searching… step ${d.step} of ${d.of}`);
    });

    source.addEventListener("done", async (e) => {
      source.close();
      if (!current()) return;
      state.job = null;
      let d = {};
      try { d = JSON.parse(e.data); } catch (err) { /* use the job's own result URL */ }
      const url = d.result || job.result;
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      const steps = d.report && d.report.iterations;
      try {
        const img = new Image();
        img.src = url;
        await img.decode();
      } catch (err) {
        if (current()) fail("The search finished but its result could not be loaded; press Fill to try again.");
        return;
      }
      if (!current()) return;
      el.result.src = url;
      el.result.hidden = false;
      el.placeholder.hidden = true;
      el.progress.max = 1;
      el.progress.value = 1;
      el.step.textContent = steps ? `${steps} steps` : "";
      setDownload(url);
      setState("done");
      updateControls();
      setStatus(`Done in ${seconds} s` + (d.width ? ` · ${d.width} × ${d.height}` : "") +
                ". Download it, or paint more and fill again.");
    });

    // "error" is both the server's own event (with data) and EventSource's connection trouble.
    source.addEventListener("error", (e) => {
      if (!current()) { source.close(); return; }
      if (typeof e.data === "string") {
        source.close();
        state.job = null;
        let message = "The completion failed.";
        try { message = JSON.parse(e.data).error || message; } catch (err) { /* keep the default */ }
        fail(message);
      } else if (source.readyState === EventSource.CLOSED) {
        state.job = null;
        fail("Lost the connection to the server before the completion finished; press Fill to try again.");
      } else {
        setStatus("Connection interrupted; reconnecting…");
      }
    });
  }

  // ---------------------------------------------------------------- wiring

  el.file.addEventListener("change", () => {
    const f = el.file.files && el.file.files[0];
    el.file.value = "";        // choosing the same file again opens it again
    openFile(f);
  });
  el.maskFile.addEventListener("change", () => {
    const f = el.maskFile.files && el.maskFile.files[0];
    el.maskFile.value = "";
    loadMask(f);
  });

  el.canvas.addEventListener("pointerdown", onPointerDown);
  el.canvas.addEventListener("pointermove", onPointerMove);
  el.canvas.addEventListener("pointerup", onPointerEnd);
  el.canvas.addEventListener("pointercancel", onPointerEnd);
  el.canvas.addEventListener("lostpointercapture", onPointerEnd);
  el.canvas.addEventListener("pointerleave", onPointerEnd);
  el.canvas.addEventListener("contextmenu", (e) => e.preventDefault());

  el.brush.addEventListener("input", () => {
    el.brushValue.textContent = el.brush.value;
    drawOverlay();
  });
  el.eraser.addEventListener("click", () => setEraser(!state.eraser));
  el.undo.addEventListener("click", undo);
  el.clear.addEventListener("click", clearMask);
  el.fill.addEventListener("click", fill);
  el.download.addEventListener("click", (e) => {
    if (el.download.getAttribute("aria-disabled") === "true") e.preventDefault();
  });

  document.addEventListener("keydown", (e) => {
    const t = e.target;
    if (t instanceof HTMLInputElement && t.type !== "range" && t.type !== "file") return;
    if ((e.ctrlKey || e.metaKey) && !e.shiftKey && e.key.toLowerCase() === "z") {
      e.preventDefault();
      undo();
    } else if (e.ctrlKey || e.metaKey || e.altKey) {
      return;
    } else if (e.key === "e" || e.key === "E") {
      if (state.bitmap) setEraser(!state.eraser);
    } else if (e.key === "[" || e.key === "]") {
      const step = Math.max(1, Math.round(Number(el.brush.value) * 0.15));
      el.brush.value = String(Number(el.brush.value) + (e.key === "]" ? step : -step));
      el.brush.dispatchEvent(new Event("input"));
    }
  });

  // Drop a picture anywhere on the page.
  let dragDepth = 0;
  const hasFiles = (e) => e.dataTransfer && Array.from(e.dataTransfer.types || []).includes("Files");
  document.addEventListener("dragenter", (e) => {
    if (!hasFiles(e)) return;
    e.preventDefault();
    dragDepth += 1;
    el.body.classList.add("dragging");
  });
  document.addEventListener("dragover", (e) => {
    if (!hasFiles(e)) return;
    e.preventDefault();
    e.dataTransfer.dropEffect = "copy";
  });
  document.addEventListener("dragleave", () => {
    dragDepth = Math.max(0, dragDepth - 1);
    if (dragDepth === 0) el.body.classList.remove("dragging");
  });
  document.addEventListener("drop", (e) => {
    if (!hasFiles(e)) return;
    e.preventDefault();
    dragDepth = 0;
    el.body.classList.remove("dragging");
    openFile(e.dataTransfer.files[0]);
  });

  // Refit the picture when its panel changes width.
  let pending = false;
  const refit = () => {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => {
      pending = false;
      if (state.bitmap && el.stage.clientWidth !== state.layoutWidth) layout();
    });
  };
  if (window.ResizeObserver) new ResizeObserver(refit).observe(el.stage);
  window.addEventListener("resize", () => { state.layoutWidth = 0; refit(); });

  // What the server runs: defaults for the settings' placeholders, and the upload limit.
  fetch("/v1/model")
    .then((r) => (r.ok ? r.json() : null))
    .then((m) => {
      if (!m) return;
      const d = m.defaults || {};
      if (d.iterations) el.iterations.placeholder = `${d.iterations} (default)`;
      if (d.restarts) el.restarts.placeholder = `${d.restarts} (default)`;
      if (d.seed !== undefined) el.seed.placeholder = `${d.seed} (default)`;
      state.maxUploadMB = m.max_upload_mb || null;
      const parts = [];
      if (m.resolution) parts.push(`model at ${m.resolution} × ${m.resolution}`);
      if (m.backend) parts.push(`backend ${m.backend}`);
      if (state.maxUploadMB) parts.push(`uploads up to ${state.maxUploadMB} MB`);
      if (parts.length) el.modelLine.textContent = `Your picture goes to this server only · ${parts.join(" · ")}.`;
    })
    .catch(() => { /* the page works without it */ });

  // For tests and the curious: the mask as it would be sent, a black/white PNG data URL.
  window.inpaint = Object.freeze({
    maskDataURL: () => (state.mask ? maskBlob().then(blobToDataURL) : Promise.resolve(null)),
  });

  setState("idle");
  updateControls();
})();
