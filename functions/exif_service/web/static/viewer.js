// The start page: read a photo's metadata (no account), group it, and point out what it gives away.
import { api, checkFile, el, explain, say, sayError, upload } from "./app.js";

const GROUPS = [
  {
    title: "Camera",
    tags: ["Make", "Model", "LensMake", "LensModel", "LensInfo", "SerialNumber", "BodySerialNumber",
      "InternalSerialNumber", "LensSerialNumber", "CameraSerialNumber", "OwnerName", "CameraOwnerName"],
  },
  {
    title: "Capture",
    tags: ["DateTimeOriginal", "CreateDate", "ModifyDate", "OffsetTimeOriginal", "ExposureTime", "FNumber",
      "ISO", "FocalLength", "FocalLengthIn35mmFormat", "ExposureProgram", "ExposureCompensation",
      "MeteringMode", "Flash", "WhiteBalance", "Orientation"],
  },
  {
    title: "Location",
    tags: ["GPSLatitude", "GPSLongitude", "GPSAltitude", "GPSPosition", "GPSDateTime", "GPSDateStamp",
      "GPSImgDirection", "City", "State", "Province-State", "Country", "Country-PrimaryLocationName", "Location",
      "Sub-location"],
  },
  {
    title: "Authorship and rights",
    tags: ["Artist", "Creator", "By-line", "Author", "XPAuthor", "Copyright", "CopyrightNotice", "Rights",
      "Credit", "Source", "WebStatement", "UsageTerms", "Licensor", "LicensorName", "LicensorURL", "Title",
      "ObjectName", "Description", "ImageDescription", "Caption-Abstract", "Keywords", "Subject"],
  },
  {
    title: "Software",
    tags: ["Software", "CreatorTool", "ProcessingSoftware", "HistorySoftwareAgent", "HostComputer",
      "XMPToolkit", "FirmwareVersion"],
  },
  {
    title: "File",
    tags: ["FileName", "FileSize", "FileType", "MIMEType", "ImageWidth", "ImageHeight", "ImageSize",
      "Megapixels", "BitsPerSample", "ColorSpace", "ProfileDescription", "EncodingProcess"],
  },
];

// The privacy check is the server's privacy report (view-exif's `privacy`, from the same upload
// and the same one image of the allowance; POST /api/images/privacy-report alone), made by
// the same table the strip presets use, so the page and a strip never disagree about a tag.
// The page only names the categories and lays the findings out.
const CATEGORIES = {
  location: "Location",
  device: "Device",
  identity: "Identity",
  people: "People",
  time: "Time",
  history: "History",
  embedded: "Embedded images",
  "free-text": "Free text",
  provenance: "Content Credentials",
};

// What each validation state means to a person reading the card.
const VALIDATION = {
  valid: "Valid: intact, and signed by a certificate this server trusts.",
  untrusted: "Intact, but signed by a certificate this server does not know.",
  invalid: "Invalid: the file was changed after it was signed, or the record is damaged.",
};

const $ = (id) => document.getElementById(id);
const status = $("status");
let rows = [];

function bareName(key) {
  const parts = String(key).split(/[:.]/);
  return parts[parts.length - 1];
}

function show(value) {
  if (value === null || value === undefined) return "";
  if (Array.isArray(value)) return value.map(show).join(", ");
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

function coordinates(metadata, gps) {
  if (gps && Number.isFinite(Number(gps.lat)) && Number.isFinite(Number(gps.lng))) {
    return { lat: Number(gps.lat), lng: Number(gps.lng) };
  }
  return null;
}

function mapLink(point) {
  const lat = point.lat.toFixed(6);
  const lng = point.lng.toFixed(6);
  return el("a", {
    href: `https://www.openstreetmap.org/?mlat=${lat}&mlon=${lng}#map=16/${lat}/${lng}`,
    target: "_blank",
    rel: "noopener noreferrer",
    text: "Open on a map (OpenStreetMap)",
  });
}

function placeName(place) {
  if (!place || !place.city) return "";
  const name = [place.city, place.region, place.country].filter(Boolean).join(", ");
  const km = Number(place.distanceKm);
  return Number.isFinite(km) ? `${km.toFixed(1)} km from ${name}` : `near ${name}`;
}

function renderGroups(entries, point, place) {
  const byName = new Map();
  for (const [key, value] of entries) {
    const name = bareName(key);
    if (!byName.has(name)) byName.set(name, value);
  }
  const container = $("groups");
  container.replaceChildren();
  for (const group of GROUPS) {
    const list = el("dl");
    if (group.title === "Location" && point) {
      list.append(
        el("dt", { text: "Coordinates" }),
        el("dd", { className: "coords" }, `${point.lat.toFixed(6)}, ${point.lng.toFixed(6)} `, mapLink(point)),
      );
      if (placeName(place)) {
        list.append(el("dt", { text: "Place" }), el("dd", { className: "place", text: placeName(place) }));
      }
    }
    for (const tag of group.tags) {
      if (!byName.has(tag)) continue;
      if (point && (tag === "GPSLatitude" || tag === "GPSLongitude" || tag === "GPSPosition")) continue;
      list.append(el("dt", { text: tag }), el("dd", { text: show(byName.get(tag)) }));
    }
    const card = el("section", { className: "group", "data-group": group.title });
    card.append(el("h3", { text: group.title }));
    card.append(list.childElementCount ? list : el("p", { className: "muted", text: "Nothing recorded." }));
    container.append(card);
  }
}

function aiText(provenance) {
  if (provenance.aiGenerated === true) return "Yes: made or changed by a generative or algorithmic model";
  if (provenance.aiGenerated === false) return "No: recorded from the world (a camera or a scan)";
  return "Not stated";
}

function renderCredentials(provenance) {
  const card = $("credentials");
  const list = $("credentials-list");
  const info = provenance && typeof provenance === "object" ? provenance : {};
  const cc = info.contentCredentials && typeof info.contentCredentials === "object" ? info.contentCredentials : null;
  list.replaceChildren();
  card.dataset.validation = cc ? String(cc.validation) : "none";
  const row = (term, value) => {
    if (value) list.append(el("dt", { text: term }), el("dd", { text: String(value) }));
  };
  if (cc) {
    $("credentials-summary").textContent = VALIDATION[cc.validation] || String(cc.validation);
    row("Signed by", cc.signer || "Unknown signer");
    row("Made with", cc.claimGenerator);
    row("Signed at", cc.signedAt);
    row("AI-generated", aiText(info));
    const tools = (Array.isArray(cc.actions) ? cc.actions : []).map((a) => a.softwareAgent).filter(Boolean);
    row("Tools", [...new Set(tools)].join(", "));
    row("Validation", cc.validation);
    const errors = Array.isArray(cc.validationErrors) ? cc.validationErrors : [];
    row("Problems", errors.join(", "));
  } else {
    $("credentials-summary").textContent = "This file carries no Content Credentials.";
    if (info.aiGenerated !== null && info.aiGenerated !== undefined) row("AI-generated", `${aiText(info)} (IPTC label)`);
  }
  list.hidden = list.childElementCount === 0;
}

function privacyPending() {
  $("privacy-summary").textContent = "Checking what this file gives away…";
  $("findings").replaceChildren();
  $("privacy-action").hidden = true;
}

function privacyFailed(status, data) {
  const { text } = explain(status, data);
  $("privacy-summary").textContent = `The privacy check could not be done: ${text}`;
}

function renderPrivacy(report, point) {
  const byCategory = new Map();
  for (const finding of Array.isArray(report.findings) ? report.findings : []) {
    if (!byCategory.has(finding.category)) byCategory.set(finding.category, []);
    byCategory.get(finding.category).push(finding);
  }
  const findings = $("findings");
  findings.replaceChildren();
  for (const [category, items] of byCategory) {
    const list = el("ul", { className: "finding-tags" });
    if (category === "location" && point) {
      list.append(el("li", {}, el("strong", { text: "Position" }), `: ${point.lat.toFixed(6)}, ${point.lng.toFixed(6)}`));
    }
    for (const item of items) {
      list.append(el("li", {}, el("strong", { text: item.tag }), ": ", el("span", { className: "value", text: item.value })));
    }
    const count = items.length === 1 ? "1 tag" : `${items.length} tags`;
    findings.append(
      el(
        "li",
        { "data-kind": category },
        el("span", { className: `badge badge-${category}`, text: CATEGORIES[category] || category }),
        el("span", { text: ` ${count}: ${items[0].why}` }),
        list,
      ),
    );
  }
  const kinds = [...byCategory.keys()].map((category) => (CATEGORIES[category] || category).toLowerCase());
  const where = point && byCategory.has("location") ? " Anyone who gets it can see where it was taken." : "";
  $("privacy-summary").textContent = kinds.length
    ? `Risk: ${report.risk}. This file reveals ${kinds.join(", ")}.${where}`
    : "No location, serial numbers, names or edit history found in this file.";
  $("privacy-action").hidden = kinds.length === 0;
}

let privacyRequest = 0;

/** Ask for the privacy report once the metadata is on the page; `send` makes the request. */
// The privacy report that came with view-exif's answer, as if it had been asked for alone.
async function alongside(answer) {
  const report = answer.data && answer.data.privacy;
  return report ? { ok: true, status: answer.status, data: report } : { ok: false, status: 500, data: null };
}

async function checkPrivacy(send, point) {
  const mine = ++privacyRequest;
  privacyPending();
  const answer = await send();
  if (mine !== privacyRequest) return; // another file was read meanwhile: its answer counts
  if (!answer.ok || !answer.data) {
    privacyFailed(answer.status, answer.data);
    return;
  }
  renderPrivacy(answer.data, point);
}

function renderTable(entries) {
  rows = entries.map(([key, value]) => {
    const row = el("tr", {}, el("th", { scope: "row", text: key }), el("td", { text: show(value) }));
    return { row, haystack: `${key} ${show(value)}`.toLowerCase() };
  });
  $("tag-table").tBodies[0].replaceChildren(...rows.map((r) => r.row));
  $("tag-count").textContent = String(rows.length);
  $("tag-search").value = "";
  $("tag-search-count").textContent = "";
}

function filterTable() {
  const needle = $("tag-search").value.trim().toLowerCase();
  let shown = 0;
  for (const { row, haystack } of rows) {
    row.hidden = Boolean(needle) && !haystack.includes(needle);
    if (!row.hidden) shown += 1;
  }
  $("tag-search-count").textContent = needle ? `${shown} of ${rows.length} tags match.` : "";
}

let previewUrl = null;

function showPreview(file) {
  const figure = $("preview");
  if (previewUrl) URL.revokeObjectURL(previewUrl);
  previewUrl = null;
  figure.replaceChildren();
  figure.hidden = true;
  if (!file || !/^image\/(jpeg|png|gif|webp|avif|bmp)$/.test(file.type)) return;
  previewUrl = URL.createObjectURL(file);
  const img = el("img", { src: previewUrl, alt: `Preview of ${file.name}` });
  img.addEventListener("error", () => {
    figure.hidden = true;
  });
  figure.append(img);
  figure.hidden = false;
}

function render(name, data) {
  const metadata = data.metadata && typeof data.metadata === "object" ? data.metadata : {};
  const entries = Object.entries(metadata);
  const point = coordinates(metadata, data.gps);
  $("result-name").textContent = name;
  renderGroups(entries, point, data.place);
  renderCredentials(data.provenance);
  renderTable(entries);
  $("result").hidden = false;
  $("summary-heading").focus({ preventScroll: false });
  return point;
}

function waiting(text) {
  status.dataset.kind = "info";
  const bar = el("progress", { max: "100", "aria-label": "Upload progress" });
  const label = el("span", { text });
  status.replaceChildren(bar, " ", label);
  return {
    update(fraction) {
      if (fraction === null) {
        bar.removeAttribute("value");
        label.textContent = "Reading metadata…";
      } else {
        bar.value = Math.round(fraction * 100);
        label.textContent = `Uploading… ${Math.round(fraction * 100)}%`;
      }
    },
  };
}

async function readFile(file) {
  const problem = checkFile(file);
  if (problem) {
    say(status, problem, "error");
    return;
  }
  const form = new FormData();
  form.append("file", file, file.name);
  const bar = waiting("Uploading…");
  const answer = await upload("/api/images/view-exif?geolocation=true&privacy=true", form, {
    onProgress: bar.update,
    expectFile: false,
  });
  if (!answer.ok || !answer.data) {
    sayError(status, answer.status, answer.data);
    return;
  }
  say(status, "");
  showPreview(file);
  const point = render(file.name, answer.data);
  await checkPrivacy(() => alongside(answer), point);
}

async function readUrl(url) {
  const error = $("url-error");
  error.textContent = "";
  let parsed = null;
  try {
    parsed = new URL(url);
  } catch {
    parsed = null;
  }
  if (!parsed || !["http:", "https:"].includes(parsed.protocol)) {
    error.textContent = "Enter a full web address starting with http:// or https://.";
    $("url-input").setAttribute("aria-invalid", "true");
    return;
  }
  $("url-input").removeAttribute("aria-invalid");
  const bar = waiting("Fetching the photo…");
  bar.update(null);
  const answer = await api("/api/images/view-exif?geolocation=true&privacy=true", {
    method: "POST",
    json: { url: parsed.href },
  });
  if (!answer.ok || !answer.data) {
    sayError(status, answer.status, answer.data);
    return;
  }
  say(status, "");
  let name = parsed.pathname.split("/").pop() || parsed.hostname;
  try {
    name = decodeURIComponent(name);
  } catch {
    /* shown as it was written */
  }
  showPreview(null);
  const point = render(name, answer.data);
  await checkPrivacy(() => alongside(answer), point);
}

const input = $("file-input");
input.addEventListener("change", () => {
  if (input.files && input.files[0]) readFile(input.files[0]);
});

const zone = $("dropzone");
for (const type of ["dragenter", "dragover"]) {
  zone.addEventListener(type, (event) => {
    event.preventDefault();
    zone.classList.add("dragging");
  });
}
for (const type of ["dragleave", "drop"]) {
  zone.addEventListener(type, () => zone.classList.remove("dragging"));
}
zone.addEventListener("drop", (event) => {
  event.preventDefault();
  const file = event.dataTransfer && event.dataTransfer.files[0];
  if (file) readFile(file);
});

$("url-form").addEventListener("submit", (event) => {
  event.preventDefault();
  readUrl($("url-input").value.trim());
});

const toggle = $("show-all");
toggle.addEventListener("click", () => {
  const open = $("all-tags").hidden;
  $("all-tags").hidden = !open;
  toggle.setAttribute("aria-expanded", String(open));
  toggle.textContent = open ? "Hide all tags" : "Show all tags";
  if (open) $("tag-search").focus();
});
$("tag-search").addEventListener("input", filterTable);
$("summary-heading").setAttribute("tabindex", "-1");
