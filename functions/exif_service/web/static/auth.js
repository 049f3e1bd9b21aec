// Sign in and sign up: JSON to /api/auth/*, then on to where the person was going.
import { api, currentUser, explain, safePath, say } from "./app.js";

const form = document.getElementById("auth-form");
const mode = form.dataset.mode;
const status = document.getElementById("status");
const email = document.getElementById("email");
const password = document.getElementById("password");

function fieldError(input, message) {
  const slot = document.getElementById(`${input.id}-error`);
  slot.textContent = message || "";
  if (message) input.setAttribute("aria-invalid", "true");
  else input.removeAttribute("aria-invalid");
  return !message;
}

function validate() {
  const emailOk = fieldError(email, email.value.trim() && email.validity.valid ? "" : "Enter your email address.");
  const passwordOk = fieldError(
    password,
    password.value.length >= 8 ? "" : mode === "signup" ? "Use at least 8 characters." : "Enter your password.",
  );
  if (!emailOk) email.focus();
  else if (!passwordOk) password.focus();
  return emailOk && passwordOk;
}

// keep "where to go next" when switching between sign-in and sign-up
const next = safePath(new URLSearchParams(location.search).get("next"));
if (next) {
  for (const link of document.querySelectorAll('a[href="/signin"], a[href="/signup"]')) {
    if (link.closest("main")) link.setAttribute("href", `${link.getAttribute("href")}?next=${encodeURIComponent(next)}`);
  }
}

currentUser().then((user) => {
  if (user) say(status, `You are already signed in as ${user.email}.`, "info", { href: next || "/dashboard", text: "Continue" });
});

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  if (!validate()) return;
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  say(status, mode === "signup" ? "Creating your account…" : "Signing in…");
  const path = mode === "signup" ? "/api/auth/sign-up/email" : "/api/auth/sign-in/email";
  const answer = await api(path, {
    method: "POST",
    json: { email: email.value.trim(), password: password.value },
  });
  button.disabled = false;
  if (answer.ok) {
    location.assign(next || "/dashboard");
    return;
  }
  if (mode === "signin" && answer.status === 401) {
    say(status, "That email and password do not match an account.", "error");
  } else if (mode === "signup" && answer.status === 409) {
    say(status, "An account with this email already exists.", "error", { href: "/signin", text: "Sign in" });
  } else {
    const { text } = explain(answer.status, answer.data);
    say(status, text, "error");
  }
});
