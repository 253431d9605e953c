// bedrock-sweeper dashboard: progressive enhancement only; every page works without it.
// A running sweep's page follows its progress live and reloads itself once the sweep ends.
"use strict";

function followSweep(box) {
  const url = box.dataset.progressUrl;
  const bar = box.querySelector("progress");
  const text = box.querySelector("[data-progress-text]");
  async function poll() {
    let progress;
    try {
      const response = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
      // An ended session is sent to the sign-in page: say so instead of retrying forever.
      if (response.redirected) {
        text.textContent = "Your session has ended: reload the page to sign in again.";
        return;
      }
      const type = response.headers.get("Content-Type") || "";
      if (!response.ok || !type.startsWith("application/json")) {
        text.textContent = "Progress could not be read (HTTP " + response.status + "); retrying.";
        setTimeout(poll, 3000);
        return;
      }
      progress = await response.json();
    } catch (e) {
      text.textContent = "The service did not answer; retrying.";
      setTimeout(poll, 3000);
      return;
    }
    bar.max = Math.max(progress.total, 1);
    bar.value = progress.done;
    text.textContent = progress.done + " of " + progress.total + " accounts recorded, " +
      progress.not_assessed + " not assessed — " + progress.status;
    if (progress.status === "running") {
      setTimeout(poll, 1000);
    } else {
      window.location.reload();
    }
  }
  setTimeout(poll, 500);
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("[data-progress-url]").forEach(followSweep);
});
