// Progressive enhancement only: sort data tables in place. Without JavaScript the overview's
// headings are links that sort on the server, and every other table reads the same unsorted.
(function () {
  "use strict";
  function cellValue(row, index) {
    var cell = row.children[index];
    if (!cell) return "";
    var raw = cell.getAttribute("data-sort");
    return raw === null ? cell.textContent.trim() : raw;
  }
  var NUMBER = /^-?\d+(\.\d+)?$/;
  function compare(a, b) {
    if (NUMBER.test(a) && NUMBER.test(b)) return parseFloat(a) - parseFloat(b);
    return a.localeCompare(b, document.documentElement.lang || "th");
  }
  function sortBy(table, header, index) {
    var descending = header.getAttribute("aria-sort") !== "descending";
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (r1, r2) {
      var order = compare(cellValue(r1, index), cellValue(r2, index));
      return descending ? -order : order;
    });
    rows.forEach(function (row) { body.appendChild(row); });
    Array.prototype.forEach.call(header.parentNode.children, function (th) {
      th.removeAttribute("aria-sort");
      var arrow = th.querySelector(".arrow");
      if (arrow) arrow.textContent = "\u2195";
    });
    header.setAttribute("aria-sort", descending ? "descending" : "ascending");
    var mine = header.querySelector(".arrow");
    if (mine) mine.textContent = descending ? "\u25BC" : "\u25B2";
  }
  function enhance(table) {
    var headers = table.tHead ? table.tHead.rows[0].children : [];
    Array.prototype.forEach.call(headers, function (header, index) {
      if (!header.hasAttribute("data-key")) return;
      var control = header.querySelector("a");
      if (!control) {
        control = document.createElement("button");
        control.type = "button";
        control.className = "sort";
        while (header.firstChild) control.appendChild(header.firstChild);
        var arrow = document.createElement("span");
        arrow.className = "arrow";
        arrow.setAttribute("aria-hidden", "true");
        arrow.textContent = "\u2195";
        control.appendChild(arrow);
        header.appendChild(control);
      }
      control.addEventListener("click", function (event) {
        event.preventDefault();
        sortBy(table, header, index);
      });
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), enhance);
  });
})();
