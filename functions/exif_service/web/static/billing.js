// Upgrading and managing a subscription through the billing API.
import { api, say, sayError, whileBusy } from "./app.js";

const NOT_CONFIGURED =
  "Online payment is not set up on this server yet. Ask the people who run it to move your account to Pro.";

async function redirectTo(path, button, status, text) {
  button.disabled = true;
  const answer = await whileBusy(status, text, () => api(path, { method: "POST", json: {} }));
  button.disabled = false;
  if (answer.ok && answer.data && typeof answer.data.url === "string" && /^https?:\/\//.test(answer.data.url)) {
    location.assign(answer.data.url);
    return;
  }
  if (answer.status === 503) say(status, NOT_CONFIGURED, "error");
  else sayError(status, answer.status, answer.data);
}

export function startCheckout(button, status) {
  return redirectTo("/api/billing/checkout", button, status, "Opening checkout…");
}

export function openPortal(button, status) {
  return redirectTo("/api/billing/portal", button, status, "Opening the billing portal…");
}
