// Shared helpers of the web app: API calls, uploads with progress, messages, the session.
// Everything that came from a user or a file is put on the page with textContent, never as HTML.

const body = document.body;
export const MAX_BYTES = Number(body.dataset.maxBytes || 26214400);
export const MAX_MB = Number(body.dataset.maxMb || 25);
export const UPGRADE_URL = safePath(body.dataset.upgradeUrl) || "/pricing";

/** Create an element; `text` and child strings become text nodes. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "text") node.textContent = String(value);
    else if (name === "className") node.className = value;
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(typeof child === "string" ? document.createTextNode(child) : child);
  }
  return node;
}

/** A same-site path ("/x"), or null for anything that could leave the site. */
export function safePath(value) {
  if (typeof value !== "string") return null;
  return /^\/(?![/\\])[^\s]*$/.test(value) ? value : null;
}

/** Show a message in a status area: kind is "info", "ok" or "error"; `link` adds an action. */
export function say(area, text, kind = "info", link = null) {
  if (!area) return;
  area.replaceChildren();
  area.dataset.kind = kind;
  if (!text) return;
  area.append(el("span", { text }));
  if (link) area.append(" ", el("a", { href: link.href, className: "button small", text: link.text }));
}

/** The message a person should see for an API answer that was not a success. */
export function explain(status, data) {
  const message = data && typeof data.message === "string" ? data.message : "";
  if (status === 0) return { text: "The server could not be reached. Check your connection and try again." };
  if (status === 401) return { text: "Please sign in to do this.", link: { href: signInHref(), text: "Sign in" } };
  // sign-in lockouts and per-address limits: waiting helps, upgrading does not
  if (data && data.error === "too_many_attempts") return { text: message || "Too many attempts. Try again later." };
  if (status === 429 || (data && data.error === "limit_reached")) {
    return {
      text: message || "You have used all of today's images.",
      link: { href: safePath(data && data.upgradeUrl) || UPGRADE_URL, text: "Upgrade to Pro" },
    };
  }
  if (data && data.error === "plan_required") {
    return {
      text: message || "This needs the Pro plan.",
      link: { href: safePath(data.upgradeUrl) || UPGRADE_URL, text: "Upgrade to Pro" },
    };
  }
  if (status === 413) return { text: message || `File too large: the limit is ${MAX_MB} MB.` };
  if (status === 415) return { text: message || "This file type is not supported." };
  if (status === 403) return { text: message || "You are not allowed to do this." };
  if (status === 410) return { text: message || "This file is no longer available." };
  if (status >= 500) {
    const rid = data && data.requestId ? ` (request id ${data.requestId})` : "";
    return { text: (message || "Something went wrong on our side. Please try again.") + rid };
  }
  return { text: message || "That did not work. Please check the form and try again." };
}

export function sayError(area, status, data) {
  const { text, link } = explain(status, data);
  say(area, text, "error", link || null);
}

export function signInHref() {
  return `/signin?next=${encodeURIComponent(location.pathname)}`;
}

async function readJson(response) {
  const type = response.headers.get("content-type") || "";
  if (!type.includes("json")) return null;
  try {
    return await response.json();
  } catch {
    return null;
  }
}

/** Call a JSON endpoint: resolves to {ok, status, data} and never throws on HTTP errors. */
export async function api(path, { method = "GET", json, headers = {} } = {}) {
  const init = { method, headers: { Accept: "application/json", ...headers }, credentials: "same-origin" };
  if (json !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(json);
  }
  try {
    const response = await fetch(path, init);
    const data = await readJson(response);
    const ok = response.ok && !(data && data.ok === false);
    return { ok, status: response.status, data, response };
  } catch {
    return { ok: false, status: 0, data: null, response: null };
  }
}

/** Check a picked file before sending it; returns a message, or null when it can go. */
export function checkFile(file) {
  if (!file) return "Choose a file first.";
  if (file.size === 0) return `${file.name} is empty.`;
  if (file.size > MAX_BYTES) {
    const mb = (file.size / 1048576).toFixed(1);
    return `${file.name} is too large (${mb} MB): the limit is ${MAX_MB} MB.`;
  }
  return null;
}

/**
 * POST a form with upload progress. `onProgress(fraction|null)` gets the upload fraction, then
 * null while the server works. Resolves to {ok, status, data, blob, fileName}.
 */
export function upload(path, form, { onProgress = () => {}, expectFile = true } = {}) {
  return new Promise((resolve) => {
    const xhr = new XMLHttpRequest();
    let uploaded = false;
    xhr.open("POST", path);
    xhr.responseType = "blob";
    xhr.setRequestHeader("Accept", expectFile ? "*/*" : "application/json");
    xhr.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    });
    xhr.upload.addEventListener("load", () => {
      uploaded = true;
      onProgress(null);
    });
    // `uploaded` tells a lost connection from an answer the page may not read (a redirect
    // to the file in object storage, on another origin)
    xhr.addEventListener("error", () => resolve({ ok: false, status: 0, data: null, uploaded }));
    xhr.addEventListener("abort", () => resolve({ ok: false, status: 0, data: null }));
    xhr.addEventListener("load", async () => {
      const type = xhr.getResponseHeader("content-type") || "";
      const blob = xhr.response;
      let data = null;
      if (type.includes("json") && blob) {
        try {
          data = JSON.parse(await blob.text());
        } catch {
          data = null;
        }
      }
      const ok = xhr.status >= 200 && xhr.status < 300 && !(data && data.ok === false);
      const fileName = dispositionName(xhr.getResponseHeader("content-disposition"));
      resolve({ ok, status: xhr.status, data, blob, fileName });
    });
    xhr.send(form);
  });
}

/** The file name in a Content-Disposition header (RFC 6266 filename* first). */
export function dispositionName(header) {
  if (!header) return null;
  const star = /filename\*\s*=\s*(?:UTF-8|utf-8)''([^;]+)/.exec(header);
  if (star) {
    try {
      return decodeURIComponent(star[1].trim().replace(/^"|"$/g, ""));
    } catch {
      /* fall through to the plain name */
    }
  }
  const plain = /filename\s*=\s*"?([^";]+)"?/.exec(header);
  return plain ? plain[1].trim() : null;
}

/** Offer a blob as a download now, and leave a link to download it again. */
export function offerDownload(container, blob, name, label = "Download again") {
  const previous = container.querySelector("a[href^='blob:']");
  if (previous) URL.revokeObjectURL(previous.href);
  const url = URL.createObjectURL(blob);
  const link = el("a", { href: url, download: name, className: "button", text: `${label}: ${name}` });
  container.replaceChildren(link);
  container.hidden = false;
  link.click();
  return link;
}

/**
 * Progress for a long operation: shown when `start` is called, as a bar for upload progress
 * and as an indeterminate bar (with a label) while the server works.
 */
export function progress(area, bar, label) {
  return {
    start(text = "Uploading…") {
      area.hidden = false;
      bar.value = 0;
      bar.max = 100;
      label.textContent = text;
    },
    update(fraction) {
      if (fraction === null) {
        bar.removeAttribute("value");
        label.textContent = "Processing…";
      } else {
        bar.value = Math.round(fraction * 100);
        label.textContent = `Uploading… ${Math.round(fraction * 100)}%`;
      }
    },
    done() {
      area.hidden = true;
    },
  };
}

/** Run `task`; if it takes over a second, show `text` in `area` meanwhile. */
export async function whileBusy(area, text, task) {
  const timer = setTimeout(() => {
    area.replaceChildren(el("progress", { "aria-label": text }), " ", el("span", { text }));
    area.dataset.kind = "info";
  }, 1000);
  try {
    return await task();
  } finally {
    clearTimeout(timer);
    if (area.dataset.kind === "info") area.replaceChildren();
  }
}

/** Format an ISO date for people, in their own time zone. */
export function when(value) {
  if (!value) return "Never";
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return String(value);
  return date.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

let sessionPromise = null;

/** The signed-in user ({email, plan, isAdmin, ...}) or null. */
export function currentUser() {
  if (!sessionPromise) {
    sessionPromise = api("/api/auth/get-session").then(({ ok, data }) => {
      if (!ok || !data) return null;
      const user = data.user || (data.session && data.session.user) || null;
      if (!user) return null;
      const isAdmin = Boolean(user.isAdmin || user.is_admin || user.role === "admin");
      return { ...user, isAdmin };
    });
  }
  return sessionPromise;
}

function showNav(user) {
  for (const node of document.querySelectorAll(".signed-in")) node.hidden = !user;
  for (const node of document.querySelectorAll(".signed-out")) node.hidden = Boolean(user);
  for (const node of document.querySelectorAll(".admin-only")) node.hidden = !(user && user.isAdmin);
  const who = document.getElementById("who");
  if (who) who.textContent = user ? user.email || "" : "";
}

async function signOut() {
  await api("/api/auth/sign-out", { method: "POST", json: {} });
  location.assign("/");
}

const signOutButton = document.getElementById("sign-out");
if (signOutButton) signOutButton.addEventListener("click", signOut);
currentUser().then(showNav);

/** Send people who are not signed in to the sign-in page, then back here. */
export async function requireUser() {
  const user = await currentUser();
  if (!user) location.assign(signInHref());
  return user;
}
