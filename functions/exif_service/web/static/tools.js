// The signed-in tools: strip, SEO/rights edit, location, advanced edit, bulk. Each sends one
// multipart request with upload progress and offers the processed file as a download.
import { api, checkFile, currentUser, el, explain, offerDownload, progress, safePath, say, sayError, upload } from "./app.js";

const $ = (id) => document.getElementById(id);
const form = $("tool-form");
const tool = form.dataset.tool;
const status = $("status");
const result = $("result");
const bar = progress($("progress-area"), $("progress"), $("progress-label"));
const MAX_BULK = 20;
// Same rule as the server: Group:Tag or Group.Tag of letters, digits, - and _.
const TAG_NAME = /^(?:[A-Za-z0-9_-]+[:.]){0,2}[A-Za-z][A-Za-z0-9_-]*$/;

function fieldError(name, message) {
  const input = $(name === "file" ? "file" : `f-${name}`);
  const slot = $(name === "file" ? "file-error" : `f-${name}-error`);
  if (!slot) return;
  slot.textContent = message || "";
  if (input) {
    if (message) input.setAttribute("aria-invalid", "true");
    else input.removeAttribute("aria-invalid");
  }
}

function clearErrors() {
  for (const slot of form.querySelectorAll(".field-error")) slot.textContent = "";
  for (const input of form.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
}

function pickedFiles() {
  return [...($("file").files || [])];
}

function checkFiles(files) {
  if (files.length === 0) return tool === "bulk" ? "Choose up to 20 photos." : "Choose a photo.";
  if (tool === "bulk" && files.length > MAX_BULK) return `Choose at most ${MAX_BULK} photos (you chose ${files.length}).`;
  for (const file of files) {
    const problem = checkFile(file);
    if (problem) return problem;
  }
  return null;
}

function checkNumber(name, low, high, required) {
  const raw = $(`f-${name}`).value.trim();
  if (!raw) return required ? `Enter the ${name}.` : null;
  const value = Number(raw);
  if (!Number.isFinite(value)) return `The ${name} must be a number, like 48.8566.`;
  if (value < low || value > high) return `The ${name} must be between ${low} and ${high}.`;
  return null;
}

// --- the key/value table (advanced edit and bulk edit) ---
let rowCount = 0;

function addRow(tag = "", value = "") {
  rowCount += 1;
  const n = rowCount;
  const tagInput = el("input", { id: `kv-tag-${n}`, className: "kv-tag", autocomplete: "off", spellcheck: "false" });
  const valueInput = el("input", { id: `kv-value-${n}`, className: "kv-value", autocomplete: "off" });
  tagInput.value = tag;
  valueInput.value = value;
  const remove = el("button", { type: "button", className: "secondary small", text: "Remove" });
  remove.setAttribute("aria-label", `Remove field ${n}`);
  const row = el(
    "tr",
    {},
    el("td", {}, el("label", { for: tagInput.id, className: "visually-hidden", text: `Tag ${n}` }), tagInput),
    el("td", {}, el("label", { for: valueInput.id, className: "visually-hidden", text: `Value ${n}` }), valueInput),
    el("td", {}, remove),
  );
  remove.addEventListener("click", () => {
    row.remove();
    const first = form.querySelector(".kv-tag");
    if (first) first.focus();
  });
  $("kv-table").tBodies[0].append(row);
  return tagInput;
}

function parseValue(raw) {
  const text = raw.trim();
  if (text.startsWith("[")) {
    try {
      const list = JSON.parse(text);
      if (Array.isArray(list)) return list.map(String);
    } catch {
      /* not a list: written as typed */
    }
  }
  return raw;
}

function tableFields() {
  const fields = {};
  const slot = $("kv-error");
  slot.textContent = "";
  for (const row of $("kv-table").tBodies[0].rows) {
    const tagInput = row.querySelector(".kv-tag");
    const name = tagInput.value.trim();
    const value = row.querySelector(".kv-value").value;
    tagInput.removeAttribute("aria-invalid");
    if (!name && !value) continue;
    if (!TAG_NAME.test(name)) {
      slot.textContent = name
        ? `"${name}" is not a tag name: use letters, digits, - and _, optionally with a group like XMP-dc:Title.`
        : "Every value needs a tag name.";
      tagInput.setAttribute("aria-invalid", "true");
      tagInput.focus();
      return null;
    }
    fields[name] = parseValue(value);
  }
  if (Object.keys(fields).length === 0) {
    slot.textContent = "Add at least one tag and value.";
    const first = form.querySelector(".kv-tag") || addRow();
    first.focus();
    return null;
  }
  return fields;
}

// --- building the request of each tool ---
function selectedMode() {
  const checked = form.querySelector("input[name=mode]:checked");
  return checked ? checked.value : "append";
}

function bulkAction() {
  const checked = form.querySelector("input[name=bulk-action]:checked");
  return checked ? checked.value : "strip";
}

function appendStripChoice(data) {
  const preset = form.querySelector("input[name=preset]:checked");
  if (preset) data.append("preset", preset.value);
  const keep = $("f-keep");
  if (keep && keep.value.trim()) data.append("keep", keep.value.trim());
}

function buildRequest(files) {
  const data = new FormData();
  if (tool === "bulk") {
    for (const file of files) data.append("files", file, file.name);
    if (bulkAction() === "strip") {
      appendStripChoice(data);
      return { path: "/api/images/strip-exif-bulk", data };
    }
    const fields = tableFields();
    if (!fields) return null;
    data.append("fields", JSON.stringify(fields));
    data.append("mode", selectedMode());
    return { path: "/api/images/advanced-edit-bulk", data };
  }
  data.append("file", files[0], files[0].name);
  if (tool === "strip") {
    appendStripChoice(data);
    return { path: "/api/images/strip-exif", data };
  }
  if (tool === "edit") {
    let any = false;
    for (const input of form.querySelectorAll(".grid input, .grid textarea")) {
      const value = input.value.trim();
      if (value) {
        data.append(input.name, value);
        any = true;
      }
    }
    if (!any && selectedMode() === "append") {
      fieldError("title", "Fill in at least one field.");
      $("f-title").focus();
      return null;
    }
    data.append("mode", selectedMode());
    return { path: "/api/images/edit-exif", data };
  }
  if (tool === "geo") {
    const problems = {
      latitude: checkNumber("latitude", -90, 90, true),
      longitude: checkNumber("longitude", -180, 180, true),
      altitude: checkNumber("altitude", -20000, 100000, false),
    };
    let first = null;
    for (const [name, message] of Object.entries(problems)) {
      fieldError(name, message);
      if (message && !first) first = name;
    }
    if (first) {
      $(`f-${first}`).focus();
      return null;
    }
    for (const name of ["latitude", "longitude", "altitude"]) {
      const value = $(`f-${name}`).value.trim();
      if (value) data.append(name, value);
    }
    return { path: "/api/images/geo-exif", data };
  }
  const fields = tableFields();
  if (!fields) return null;
  data.append("fields", JSON.stringify(fields));
  data.append("mode", selectedMode());
  return { path: "/api/images/advanced-edit", data };
}

// A 400 about one field is shown next to that field.
function placeFieldError(answer) {
  if (answer.status !== 400 || !answer.data || typeof answer.data.message !== "string") return false;
  const message = answer.data.message;
  const named = /^(\w+)\b/.exec(message);
  const name = named && named[1];
  if (name && $(`f-${name}-error`)) {
    fieldError(name, message);
    $(`f-${name}`).focus();
    return true;
  }
  if (/keep item|keep lists/i.test(message) && $("f-keep-error")) {
    fieldError("keep", message);
    $("f-keep").focus();
    return true;
  }
  if ((tool === "advanced" || tool === "bulk") && $("kv-error") && !$("kv-fieldset").hidden && /tag|field/i.test(message)) {
    $("kv-error").textContent = message;
    return true;
  }
  return false;
}

function fallbackName(files) {
  if (tool === "bulk") return bulkAction() === "strip" ? "cleaned-images.zip" : "edited-images.zip";
  return files[0].name;
}

// A large result is answered with a redirect to object storage, which this page may not read;
// the processed file is in the history by then, and a plain link downloads it from there.
async function offerFromHistory() {
  const answer = await api("/api/images/history");
  const latest = answer.ok && Array.isArray(answer.data.images) ? answer.data.images[0] : null;
  const href = latest && latest.canDownload ? safePath(latest.downloadUrl) : null;
  if (!href) return false;
  const link = el("a", { href, download: latest.fileName, className: "button", text: `Download: ${latest.fileName}` });
  result.replaceChildren(link);
  result.hidden = false;
  say(status, `Done: ${latest.fileName} is ready. Your download has started.`, "ok");
  link.click();
  return true;
}

async function submit(event) {
  event.preventDefault();
  clearErrors();
  say(status, "");
  result.hidden = true;
  const files = pickedFiles();
  const problem = checkFiles(files);
  if (problem) {
    fieldError("file", problem);
    $("file").focus();
    return;
  }
  const request = buildRequest(files);
  if (!request) return;
  const button = $("submit");
  button.disabled = true;
  bar.start(files.length > 1 ? `Uploading ${files.length} photos…` : "Uploading…");
  const answer = await upload(request.path, request.data, { onProgress: bar.update });
  bar.done();
  button.disabled = false;
  if (answer.status === 0 && answer.uploaded && tool !== "bulk" && (await offerFromHistory())) return;
  if (answer.status === 0 && answer.uploaded && tool === "bulk") {
    say(status, "The ZIP is too large to hand over in the browser. Process fewer photos at once.", "error");
    return;
  }
  if (!answer.ok) {
    if (placeFieldError(answer)) say(status, "Please correct the highlighted field.", "error");
    else sayError(status, answer.status, answer.data);
    return;
  }
  const name = answer.fileName || fallbackName(files);
  say(status, `Done: ${name} is ready. Your download has started.`, "ok");
  offerDownload(result, answer.blob, name, "Download again");
}

if (tool === "advanced") addRow();
if (tool === "bulk") {
  for (const radio of form.querySelectorAll("input[name=bulk-action]")) {
    radio.addEventListener("change", () => {
      const editing = bulkAction() === "edit";
      $("kv-fieldset").hidden = !editing;
      $("mode-fieldset").hidden = !editing;
      $("preset-fieldset").hidden = editing;
      $("keep-field").hidden = editing;
      if (editing && !form.querySelector(".kv-tag")) addRow();
    });
  }
}
const addButton = $("kv-add");
if (addButton) addButton.addEventListener("click", () => addRow().focus());
form.addEventListener("submit", submit);

currentUser().then((user) => {
  $("signin-notice").hidden = Boolean(user);
  if (user && tool === "bulk" && user.plan !== "pro") {
    const { text, link } = explain(403, { error: "plan_required", message: "Bulk processing needs the Pro plan." });
    say(status, text, "info", link);
  }
});
