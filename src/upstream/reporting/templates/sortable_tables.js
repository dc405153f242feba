/* Sortable, filterable tables offline: click a column heading to sort (again to reverse); type in the box
   above a table to show only the rows that contain the text. Cells sort by data-value when they have it. */
(function () {
  /* A cell's sort key: a list of numbers (one for a number; lower and upper end for an interval such as
     "4.24–4.84" or "−0.85 to −0.48", so intervals sort by their lower end, then their upper), else lower-case
     text; "" for a blank ("", a dash, nan). */
  var NUMBER = "([-+]?(?:\\d[\\d,]*\\.?\\d*|\\.\\d+)(?:e[-+]?\\d+)?)%?";
  var INTERVAL = new RegExp("^" + NUMBER + "\\s*(?:to|\u2013|\u2014)\\s*" + NUMBER + "$", "i");
  function numberOf(text) {
    var num = text.replace(/[,%+\s]/g, "");
    return num !== "" && !isNaN(Number(num)) ? Number(num) : null;
  }
  function value(cell) {
    var raw = cell.getAttribute("data-value");
    var text = (raw === null ? cell.textContent : raw).trim().replace(/\u2212/g, "-");
    if (text === "" || text === "\u2013" || text === "\u2014" || text.toLowerCase() === "nan") return "";
    var single = numberOf(text);
    if (single !== null) return [single];
    var ends = INTERVAL.exec(text.replace(/^[(\[]|[)\]]$/g, ""));
    if (ends && numberOf(ends[1]) !== null && numberOf(ends[2]) !== null) {
      return [numberOf(ends[1]), numberOf(ends[2])];
    }
    return text.toLowerCase();
  }
  function compare(a, b) {
    if (a === "" || b === "") return a === b ? 0 : (a === "" ? 1 : -1);
    var numA = Array.isArray(a), numB = Array.isArray(b);
    if (numA !== numB) return numA ? -1 : 1;
    if (!numA) return a < b ? -1 : (a > b ? 1 : 0);
    for (var i = 0; i < Math.max(a.length, b.length); i++) {
      var x = i < a.length ? a[i] : -Infinity, y = i < b.length ? b[i] : -Infinity;
      if (x !== y) return x < y ? -1 : 1;
    }
    return 0;
  }
  function enhance(table) {
    var body = table.tBodies[0];
    if (!table.tHead || !body || body.rows.length < 2) return;
    var box = document.createElement("input");
    box.type = "search";
    box.placeholder = "Filter rows";
    box.className = "table-filter";
    box.setAttribute("aria-label", "Filter the rows of the table below");
    table.parentNode.insertBefore(box, table);
    box.addEventListener("input", function () {
      var q = box.value.toLowerCase();
      Array.prototype.forEach.call(body.rows, function (row) {
        row.style.display = row.textContent.toLowerCase().indexOf(q) >= 0 ? "" : "none";
      });
    });
    Array.prototype.forEach.call(table.tHead.rows, function (headRow) {
      Array.prototype.forEach.call(headRow.cells, function (th, column) {
        th.style.cursor = "pointer";
        th.title = "Sort by this column";
        th.addEventListener("click", function () {
          var down = th.getAttribute("aria-sort") === "ascending";
          Array.prototype.forEach.call(table.querySelectorAll("thead th"), function (h) { h.removeAttribute("aria-sort"); });
          th.setAttribute("aria-sort", down ? "descending" : "ascending");
          var rows = Array.prototype.slice.call(body.rows);
          rows.sort(function (a, b) {
            var ca = a.cells[column], cb = b.cells[column];
            var c = compare(ca ? value(ca) : "", cb ? value(cb) : "");
            return down ? -c : c;
          });
          rows.forEach(function (row) { body.appendChild(row); });
        });
      });
    });
  }
  /* On a notebook page: a cell that holds exactly an agent's label links to the agent's coaching page. */
  var pages = document.getElementById("upstream-agent-pages");
  var links = pages ? JSON.parse(pages.textContent || "{}") : {};
  if (Object.keys(links).length) {
    document.querySelectorAll("table.upstream-table td, table.upstream-table tbody th").forEach(function (cell) {
      var label = cell.textContent.trim();
      if (Object.prototype.hasOwnProperty.call(links, label) && !cell.querySelector("a")) {
        var a = document.createElement("a");
        a.href = links[label];
        a.textContent = label;
        cell.textContent = "";
        cell.appendChild(a);
      }
    });
  }
  document.querySelectorAll("table.sortable, table.upstream-table").forEach(enhance);
})();
