// The admin page: every stored file with filters, downloads, and the purge.
// The files endpoint answers with an HTML table; it is parsed into an inert document and its
// cells copied over as text, so nothing in it is ever inserted as markup.
import { el, requireUser, safePath, say, sayError, when, whileBusy } from "./app.js";

const $ = (id) => document.getElementById(id);
const DOWNLOAD = /^\/api\/admin\/files\/[^/]+\/download$/;

function readable(column, text) {
  if (column === "Processed") return when(text);
  if (column === "Bytes" && /^\d+$/.test(text)) {
    const bytes = Number(text);
    return bytes >= 1048576 ? `${(bytes / 1048576).toFixed(1)} MB` : `${Math.max(1, Math.round(bytes / 1024))} KB`;
  }
  return text;
}

function copyRow(source, header) {
  const row = el("tr", { "data-id": source.dataset.id || "" });
  [...source.cells].forEach((cell, index) => {
    const link = cell.querySelector("a[href]");
    const href = link && safePath(link.getAttribute("href"));
    if (href && DOWNLOAD.test(href)) {
      const name = source.cells[0] ? source.cells[0].textContent : "";
      const a = el("a", { href, download: "", text: "Download" });
      a.setAttribute("aria-label", `Download ${name}`);
      row.append(el("td", {}, a));
    } else {
      row.append(el("td", { text: readable(header[index], cell.textContent) }));
    }
  });
  return row;
}

async function load(event) {
  if (event) event.preventDefault();
  const params = new URLSearchParams();
  params.set("status", $("filter-status").value);
  const user = $("filter-user").value.trim();
  if (user) params.set("userId", user);
  const limit = $("filter-limit").value.trim();
  if (limit) params.set("limit", limit);
  const response = await whileBusy($("files-status"), "Loading files…", () =>
    fetch(`/api/admin/files?${params}`, { credentials: "same-origin", headers: { Accept: "text/html" } }).catch(() => null),
  );
  if (!response || !response.ok) {
    let data = null;
    if (response) data = await response.json().catch(() => null);
    sayError($("files-status"), response ? response.status : 0, data);
    if (response && response.status === 403) say($("page-status"), "This page is for administrators.", "error");
    return;
  }
  const doc = new DOMParser().parseFromString(await response.text(), "text/html");
  const table = doc.querySelector("table");
  const header = table ? [...table.querySelectorAll("thead th")].map((th) => th.textContent) : [];
  const headRow = el("tr", {}, ...header.map((text) => el("th", { scope: "col", text: text === "Bytes" ? "Size" : text || "Actions" })));
  $("files-table").tHead.replaceChildren(headRow);
  const rows = table ? [...table.querySelectorAll("tbody tr")] : [];
  $("files-table").tBodies[0].replaceChildren(...rows.map((r) => copyRow(r, header)));
  say($("files-status"), rows.length ? `${rows.length} file${rows.length === 1 ? "" : "s"}.` : "No files match.", "ok");
}

function askPurge() {
  $("purge").hidden = true;
  $("purge-confirm").hidden = false;
  $("purge-no").focus();
}

function cancelPurge() {
  $("purge-confirm").hidden = true;
  $("purge").hidden = false;
  $("purge").focus();
}

async function purge() {
  $("purge-yes").disabled = true;
  const response = await whileBusy($("purge-status"), "Purging…", () =>
    fetch("/api/admin/files/purge", { method: "POST", credentials: "same-origin", headers: { Accept: "application/json" } }).catch(() => null),
  );
  $("purge-yes").disabled = false;
  cancelPurge();
  const data = response ? await response.json().catch(() => null) : null;
  if (!response || !response.ok || !data || data.ok === false) {
    sayError($("purge-status"), response ? response.status : 0, data);
    return;
  }
  const purged = Number(data.purged || 0);
  const marked = Number(data.softDeleted || 0);
  say(
    $("purge-status"),
    `Purged ${purged} file${purged === 1 ? "" : "s"} for good; ${marked} expired file${marked === 1 ? "" : "s"} marked deleted.`
      + (data.complete === false ? " More remain: purge again to continue." : ""),
    "ok",
  );
  await load();
}

$("filter-form").addEventListener("submit", load);
$("purge").addEventListener("click", askPurge);
$("purge-no").addEventListener("click", cancelPurge);
$("purge-yes").addEventListener("click", purge);

requireUser().then((user) => {
  if (!user) return;
  if (!user.isAdmin) {
    say($("page-status"), "This page is for administrators.", "error");
    return;
  }
  load();
});
