// The dashboard: plan and usage, upgrade, API keys, history, password and feedback.
import { api, el, requireUser, safePath, say, sayError, UPGRADE_URL, when, whileBusy } from "./app.js";
import { openPortal, startCheckout } from "./billing.js";

const $ = (id) => document.getElementById(id);

async function loadUsage() {
  const answer = await api("/api/billing/status");
  if (!answer.ok) {
    sayError($("page-status"), answer.status, answer.data);
    return;
  }
  const { plan, usage, limit } = answer.data;
  $("plan-name").textContent = plan === "pro" ? "Pro" : "Free";
  $("usage-text").textContent = `${usage} of ${limit} images today`;
  $("usage-bar").max = Math.max(1, Number(limit) || 1);
  $("usage-bar").value = Math.min(Number(usage) || 0, Number(limit) || 0);
  if (Number(usage) >= Number(limit)) {
    const more = plan === "pro" ? "" : " Pro allows more every day.";
    say($("page-status"), `You have used all ${limit} of today's images; the count resets at 00:00 UTC.${more}`, "info",
      plan === "pro" ? null : { href: UPGRADE_URL, text: "Upgrade to Pro" });
  }
  $("upgrade").hidden = plan === "pro";
  $("portal").hidden = plan !== "pro";
  if (plan !== "pro" && !$("key-status").hasChildNodes()) {
    say($("key-status"), "API keys come with the Pro plan.", "info", { href: UPGRADE_URL, text: "See Pro" });
  }
}

function keyRow(key) {
  const cell = el("td");
  const revoke = el("button", { type: "button", className: "secondary small", text: "Revoke" });
  revoke.setAttribute("aria-label", `Revoke key ${key.name || key.maskedKey}`);
  cell.append(revoke);
  revoke.addEventListener("click", () => confirmRevoke(cell, revoke, key));
  return el(
    "tr",
    { "data-key-id": key.id },
    el("td", { text: key.name || "(unnamed)" }),
    el("td", {}, el("code", { text: key.maskedKey })),
    el("td", { text: when(key.createdAt) }),
    el("td", { text: key.lastUsedAt ? when(key.lastUsedAt) : "Never" }),
    cell,
  );
}

function confirmRevoke(cell, revoke, key) {
  const yes = el("button", { type: "button", className: "danger small", text: "Yes, revoke" });
  const no = el("button", { type: "button", className: "secondary small", text: "Cancel" });
  const question = el("span", { text: "Revoke this key? Programs using it will stop working. " });
  cell.replaceChildren(question, yes, " ", no);
  yes.focus();
  no.addEventListener("click", () => {
    cell.replaceChildren(revoke);
    revoke.focus();
  });
  yes.addEventListener("click", async () => {
    yes.disabled = true;
    const answer = await api(`/api/keys/${encodeURIComponent(key.id)}`, { method: "DELETE" });
    if (!answer.ok) {
      sayError($("key-status"), answer.status, answer.data);
      cell.replaceChildren(revoke);
      return;
    }
    say($("key-status"), `Key ${key.name || key.maskedKey} revoked.`, "ok");
    await loadKeys();
  });
}

async function loadKeys() {
  const answer = await api("/api/keys");
  const body = $("key-table").tBodies[0];
  if (!answer.ok) {
    sayError($("key-status"), answer.status, answer.data);
    return;
  }
  const keys = Array.isArray(answer.data.keys) ? answer.data.keys : [];
  body.replaceChildren(...keys.map(keyRow));
  $("keys-empty").hidden = keys.length > 0;
}

async function createKey(event) {
  event.preventDefault();
  const name = $("key-name").value.trim();
  const answer = await whileBusy($("key-status"), "Creating the key…", () =>
    api("/api/keys", { method: "POST", json: { name } }),
  );
  if (!answer.ok || typeof answer.data.key !== "string") {
    sayError($("key-status"), answer.status, answer.data);
    return;
  }
  say($("key-status"), "Key created.", "ok");
  $("new-key-value").value = answer.data.key;
  $("new-key").hidden = false;
  $("copy-status").textContent = "";
  $("key-name").value = "";
  $("new-key-value").focus();
  $("new-key-value").select();
  await loadKeys();
}

async function copyKey() {
  const field = $("new-key-value");
  try {
    await navigator.clipboard.writeText(field.value);
    $("copy-status").textContent = "Copied to the clipboard.";
  } catch {
    field.focus();
    field.select();
    $("copy-status").textContent = "Select the key and copy it with Ctrl+C (Cmd+C on a Mac).";
  }
}

function historyRow(item) {
  const link = safePath(item.downloadUrl);
  const action = item.canDownload && link
    ? el("a", { href: link, download: item.fileName || "", text: "Download" })
    : el("span", { className: "badge badge-expired", text: item.status === "deleted" ? "Deleted" : "Expired" });
  if (action.tagName === "A") action.setAttribute("aria-label", `Download ${item.fileName}`);
  const state = item.canDownload
    ? `Available until ${when(item.downloadExpiresAt)}`
    : item.status === "deleted" ? "Deleted" : "Expired";
  return el(
    "tr",
    { "data-status": item.status },
    el("td", { text: item.fileName }),
    el("td", { text: item.tool }),
    el("td", { text: when(item.createdAt) }),
    el("td", { text: state }),
    el("td", {}, action),
  );
}

async function loadHistory() {
  const answer = await whileBusy($("history-status"), "Loading history…", () => api("/api/images/history"));
  if (!answer.ok) {
    sayError($("history-status"), answer.status, answer.data);
    return;
  }
  const items = Array.isArray(answer.data.images) ? answer.data.images : [];
  $("history-table").tBodies[0].replaceChildren(...items.map(historyRow));
  $("history-empty").hidden = items.length > 0;
}

async function sendFeedback(event) {
  event.preventDefault();
  const message = $("fb-message");
  const error = $("fb-message-error");
  if (message.value.trim().length < 10) {
    error.textContent = "Please write at least 10 characters.";
    message.setAttribute("aria-invalid", "true");
    message.focus();
    return;
  }
  error.textContent = "";
  message.removeAttribute("aria-invalid");
  const answer = await whileBusy($("feedback-status"), "Sending…", () =>
    api("/api/feedback", {
      method: "POST",
      json: {
        type: $("fb-type").value,
        subject: $("fb-subject").value.trim() || undefined,
        message: message.value.trim(),
        sourcePath: "/dashboard",
      },
    }),
  );
  if (!answer.ok) {
    sayError($("feedback-status"), answer.status, answer.data);
    return;
  }
  say($("feedback-status"), "Thank you: your message was sent.", "ok");
  $("feedback-form").reset();
}

async function changePassword(event) {
  event.preventDefault();
  const current = $("current-password");
  const fresh = $("new-password");
  const error = $("new-password-error");
  if (fresh.value.length < 8) {
    error.textContent = "Please choose at least 8 characters.";
    fresh.setAttribute("aria-invalid", "true");
    fresh.focus();
    return;
  }
  error.textContent = "";
  fresh.removeAttribute("aria-invalid");
  const answer = await whileBusy($("password-status"), "Changing…", () =>
    api("/api/auth/change-password", {
      method: "POST",
      json: { currentPassword: current.value, newPassword: fresh.value },
    }),
  );
  if (!answer.ok) {
    sayError($("password-status"), answer.status, answer.data);
    return;
  }
  say($("password-status"), "Password changed. Your other browsers are signed out.", "ok");
  $("password-form").reset();
}

$("upgrade").addEventListener("click", () => startCheckout($("upgrade"), $("billing-status")));
$("portal").addEventListener("click", () => openPortal($("portal"), $("billing-status")));
$("key-form").addEventListener("submit", createKey);
$("copy-key").addEventListener("click", copyKey);
$("feedback-form").addEventListener("submit", sendFeedback);
$("password-form").addEventListener("submit", changePassword);

requireUser().then((user) => {
  if (!user) return;
  if (new URLSearchParams(location.search).get("checkout") === "success") {
    say($("page-status"), "Thank you! Your payment went through; Pro is active as soon as Stripe confirms it.", "ok");
  }
  loadUsage();
  loadKeys();
  loadHistory();
});
