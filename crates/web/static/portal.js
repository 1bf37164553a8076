// Keyward's portal script: the Copy button of the one-time secret page, and
// times in the reader's own zone (the UTC value stays in the tooltip). The
// pages work without it, but for copying to the clipboard.
"use strict";

function copyFrom(button) {
  const field = document.getElementById(button.dataset.copy);
  const status = document.getElementById(button.dataset.copyStatus);
  const done = () => { if (status) { status.textContent = "Copied"; } };
  const fallback = () => {
    field.focus();
    field.select();
    if (document.execCommand("copy")) { done(); }
  };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(field.value).then(done, fallback);
  } else {
    fallback();
  }
}

function localTimes() {
  const format = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
  for (const el of document.querySelectorAll("time[datetime]")) {
    const at = new Date(el.getAttribute("datetime"));
    if (!Number.isNaN(at.getTime())) { el.textContent = format.format(at); }
  }
}

document.addEventListener("DOMContentLoaded", () => {
  for (const button of document.querySelectorAll("button[data-copy]")) {
    button.hidden = false;
    button.addEventListener("click", () => copyFrom(button));
  }
  localTimes();
});
