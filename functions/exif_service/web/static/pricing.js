// The pricing page: the upgrade button starts Stripe Checkout when the server has it.
import { currentUser, say, signInHref } from "./app.js";
import { startCheckout } from "./billing.js";

const button = document.getElementById("upgrade");
const status = document.getElementById("billing-status");

if (new URLSearchParams(location.search).get("checkout") === "cancel") {
  say(status, "Checkout was cancelled: nothing was charged.", "info");
}

currentUser().then((user) => {
  if (user && user.plan === "pro") {
    button.hidden = true;
    say(status, "You are on the Pro plan.", "ok");
  }
});

button.addEventListener("click", async () => {
  const user = await currentUser();
  if (!user) {
    location.assign(signInHref());
    return;
  }
  await startCheckout(button, status);
});
