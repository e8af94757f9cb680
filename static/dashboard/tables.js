// Client-side sorting of the queues, servers and schedulers lists, and the labels that let a
// table read as stacked cards on a phone.
//
// Sorting markup: a region carries data-sortable="<name>"; its sort buttons carry
// data-sort-key="<key>" (and data-sort-type="number" for numbers). In a <table> the button sits in
// a <th> and the rows of the first <tbody> are sorted by that column's cells, read from the cell's
// data-sort-value (raw number or Unix time) or else its text. Elsewhere the items are the
// [data-sort-item] elements, read from their data-sort-<key> attribute. Empty values sort last.
// The choice is kept per region in sessionStorage and applied again after every htmx swap, so
// polling does not undo it. Task lists are never sorted here: their order is Redis's paging order.
"use strict";

(function () {
  const STORE = "queuecore.dashboard.sort.";
  const ARROW = { ascending: "▲", descending: "▼" };

  function readChoice(name) {
    try {
      const choice = JSON.parse(sessionStorage.getItem(STORE + name) || "null");
      if (choice && typeof choice.key === "string" && ARROW[choice.dir]) return choice;
    } catch (error) { /* an unreadable choice is no choice */ }
    return null;
  }

  function saveChoice(name, choice) {
    try { sessionStorage.setItem(STORE + name, JSON.stringify(choice)); } catch (error) { /* storage off */ }
  }

  function buttonFor(region, key) {
    return Array.from(region.querySelectorAll("[data-sort-key]")).find((b) => b.dataset.sortKey === key);
  }

  function items(region) {
    if (region.tagName === "TABLE") return region.tBodies.length ? Array.from(region.tBodies[0].rows) : [];
    return Array.from(region.querySelectorAll("[data-sort-item]"));
  }

  function valueOf(item, button) {
    let raw;
    if (item.tagName === "TR") {
      const cell = item.cells[button.closest("th").cellIndex];
      if (!cell) return null;
      raw = cell.hasAttribute("data-sort-value") ? cell.dataset.sortValue : cell.textContent;
    } else {
      raw = item.getAttribute("data-sort-" + button.dataset.sortKey);
    }
    raw = (raw || "").trim();
    if (raw === "" || raw === "—") return null;
    if (button.dataset.sortType === "number") {
      const number = Number(raw);
      return Number.isFinite(number) ? number : null;
    }
    return raw;
  }

  function compare(a, b) {
    if (typeof a === "number" && typeof b === "number") return a - b;
    return String(a).localeCompare(String(b), undefined, { numeric: true, sensitivity: "base" });
  }

  function showState(region, choice) {
    region.querySelectorAll("[data-sort-key]").forEach((button) => {
      const active = choice && button.dataset.sortKey === choice.key;
      const header = button.closest("th");
      if (header) {
        if (active) header.setAttribute("aria-sort", choice.dir);
        else header.removeAttribute("aria-sort");
      } else {
        button.setAttribute("aria-pressed", active ? "true" : "false");
        button.dataset.sortDir = active ? choice.dir : "";
      }
      let arrow = button.querySelector("[data-sort-arrow]");
      if (!arrow) {
        arrow = document.createElement("span");
        arrow.dataset.sortArrow = "";
        arrow.setAttribute("aria-hidden", "true");
        button.append(arrow);
      }
      arrow.textContent = active ? " " + ARROW[choice.dir] : "";
    });
  }

  function sortRegion(region) {
    const choice = readChoice(region.dataset.sortable);
    const button = choice && buttonFor(region, choice.key);
    showState(region, button ? choice : null);
    if (!button) return;
    const rows = items(region);
    if (rows.length < 2) return;
    const sign = choice.dir === "descending" ? -1 : 1;
    const keyed = rows.map((row) => ({ row, value: valueOf(row, button) }));
    // Stable sort: equal values keep the server's order. Missing values go last either way.
    keyed.sort((x, y) => {
      if (x.value === null || y.value === null) return (x.value === null) - (y.value === null);
      return sign * compare(x.value, y.value);
    });
    const parent = rows[0].parentNode;
    const anchor = rows[rows.length - 1].nextSibling;
    keyed.forEach(({ row }) => parent.insertBefore(row, anchor));
  }

  function sortWithin(root) {
    if (!root || !root.querySelectorAll) return;
    if (root.matches("[data-sortable]")) sortRegion(root);
    root.querySelectorAll("[data-sortable]").forEach(sortRegion);
  }

  document.addEventListener("click", (event) => {
    const button = event.target.closest("[data-sortable] [data-sort-key]");
    if (!button) return;
    const region = button.closest("[data-sortable]");
    const current = readChoice(region.dataset.sortable);
    const flip = current && current.key === button.dataset.sortKey && current.dir === "ascending";
    saveChoice(region.dataset.sortable, { key: button.dataset.sortKey, dir: flip ? "descending" : "ascending" });
    sortRegion(region);
  });

  // A poll replaces the buttons; keep keyboard focus on the one the user last pressed.
  let focused = null;
  document.addEventListener("htmx:beforeSwap", () => {
    const active = document.activeElement;
    const region = active && active.matches("[data-sort-key]") && active.closest("[data-sortable]");
    focused = region ? { name: region.dataset.sortable, key: active.dataset.sortKey } : null;
  });
  // On a phone (dashboard.css, .grid[data-stack]) each row is a card and each cell shows its column's
  // name, taken here from the header so the templates name each column once.
  function labelCells(root) {
    if (!root || !root.querySelectorAll) return;
    const tables = root.matches && root.matches("table[data-stack]") ? [root] : [];
    tables.push(...root.querySelectorAll("table[data-stack]"));
    tables.forEach((table) => {
      if (!table.tHead || !table.tHead.rows.length) return;
      const names = Array.from(table.tHead.rows[0].cells, (th) =>
        th.colSpan > 1 ? "" : th.textContent.replace(/[▲▼]/g, "").trim());
      Array.from(table.querySelectorAll("tbody tr, tfoot tr")).forEach((row) => {
        let column = 0;
        Array.from(row.cells).forEach((cell) => {
          if (cell.colSpan === 1 && names[column] && !cell.hasAttribute("data-label")) {
            cell.dataset.label = names[column];
          }
          column += cell.colSpan;
        });
      });
    });
  }

  document.addEventListener("htmx:afterSwap", (event) => {
    labelCells(event.target.closest("table") || event.target);
    sortWithin(event.target);
    if (!focused) return;
    const region = document.querySelector(`[data-sortable="${CSS.escape(focused.name)}"]`);
    const button = region && buttonFor(region, focused.key);
    if (button && document.activeElement !== button) button.focus({ preventScroll: true });
    focused = null;
  });
  labelCells(document.body);
  sortWithin(document.body);
})();
