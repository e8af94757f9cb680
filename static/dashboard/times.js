// Relative times: every <time data-relative datetime="…"> reads "in 35 s" or "3 min ago", counted
// in the browser once a second (no request to the server); its title keeps the absolute time in
// the user's display zone. The page carries the server's clock: a laptop clock that is clearly off
// (more than SKEW_LIMIT) is corrected, while the page's own load time (well under it) is not
// mistaken for skew.
"use strict";

(function () {
  const SKEW_LIMIT = 2000;
  const meta = document.querySelector('meta[name="server-now"]');
  const measured = meta && Number.isFinite(Number(meta.content)) ? Number(meta.content) - Date.now() : 0;
  const skew = Math.abs(measured) > SKEW_LIMIT ? measured : 0;

  function span(seconds) {
    if (seconds < 60) return `${seconds} s`;
    const minutes = Math.floor(seconds / 60);
    if (minutes < 10) return seconds % 60 ? `${minutes} min ${seconds % 60} s` : `${minutes} min`;
    if (minutes < 60) return `${minutes} min`;
    const hours = Math.floor(minutes / 60);
    if (hours < 24) return minutes % 60 ? `${hours} h ${minutes % 60} min` : `${hours} h`;
    const days = Math.floor(hours / 24);
    return hours % 24 ? `${days} d ${hours % 24} h` : `${days} d`;
  }

  function relative(moment, now) {
    const seconds = Math.round((moment - now) / 1000);
    if (seconds === 0) return "now";
    return seconds > 0 ? `in ${span(seconds)}` : `${span(-seconds)} ago`;
  }

  function refresh() {
    const now = Date.now() + skew;
    document.querySelectorAll("time[data-relative]").forEach((el) => {
      const moment = Date.parse(el.dateTime);
      if (Number.isNaN(moment)) return;
      const text = relative(moment, now);
      if (el.textContent !== text) el.textContent = text;
    });
  }

  document.addEventListener("htmx:afterSwap", refresh);
  document.addEventListener("htmx:oobAfterSwap", refresh);
  refresh();
  setInterval(refresh, 1000);
})();
